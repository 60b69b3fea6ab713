// `sipwarden doctor` against the real Asterisk 22 lab: a healthy setup, a wrong
// secret, an AMI user without the security read class, one without write = system.
// Doctor runs inside the pbx namespace, where AMI listens on 127.0.0.1:5038.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// lab.ts reads the prefix when evaluated; '?ops' gives this private instance, and the
// variable is put back so suites loaded after this file keep their own prefix.
const savedPrefix = process.env.SIPWARDEN_LAB_PREFIX;
process.env.SIPWARDEN_LAB_PREFIX ??= 'swops';
const lab = (await import(new URL('./lab.ts?ops', import.meta.url).href)) as typeof import('./lab.ts');
if (savedPrefix === undefined) delete process.env.SIPWARDEN_LAB_PREFIX;

const BIN = fileURLToPath(new URL('../../bin/sipwarden.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../config/sipwarden.example.json', import.meta.url));

describe('ops: sipwarden doctor against the real Asterisk lab', function () {
  this.timeout(60_000);
  let up = false;
  let dir = '';

  before(async function () {
    lab.skipWithoutLab(this, 'nft', 'conntrack', 'iptables');
    await lab.labUp();
    up = true;
    dir = mkdtempSync(join(tmpdir(), 'swops-doctor-'));
    // Two throw-away users beside the lab's sipwarden user, then `manager reload`.
    const conf = readFileSync(join(lab.ETC_ASTERISK, 'manager.conf'), 'utf8');
    lab.writeAsteriskConf(
      'manager.conf',
      `${conf}\n[swdoc-noread]\nsecret = noread-secret\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\nread = call,dialplan\nwrite = system\n` +
        `\n[swdoc-nowrite]\nsecret = nowrite-secret\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\nread = security,call,dialplan\nwrite = reporting\n`,
    );
    await lab.asteriskCli('manager reload');
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (up) await lab.labDown();
  });

  function config(name: string, ami: Record<string, unknown>): string {
    const c = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
    Object.assign(c.ami, ami);
    c.stateDir = join(dir, `state-${name}`);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(c));
    return file;
  }

  async function doctor(cfg: string) {
    // The secret must come from the file under test, not from the environment.
    const { SIPWARDEN_AMI_SECRET: _s, SIPWARDEN_AMI_USERNAME: _u, ...env } = process.env;
    const r = await lab.inNs('pbx', process.execPath, [BIN, 'doctor', '--config', cfg], { timeoutMs: 40_000, env });
    const lines = r.stdout.trim().split('\n');
    const line = (id: string, status: string) => lines.find((l) => l.startsWith(`[${status}] ${id}: `));
    return { ...r, lines, line };
  }

  it('healthy: every check passes; the lab user\'s "command" class is flagged', async () => {
    const r = await doctor(config('ok', { secret: lab.AMI.secret }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const id of ['config', 'state-dir', 'capabilities', 'nft', 'conntrack', 'ami-reach', 'ami-login', 'ami-write', 'astdb', 'hangup', 'ami-read', 'security-events', 'dialplan']) assert.ok(r.line(id, ' OK '), `${id} not OK:\n${r.stdout}`);
    assert.match(r.line('asterisk', ' OK ')!, /Asterisk 22\.\d+/);
    assert.match(r.line('security-events', ' OK ')!, /InvalidAccountID for a test login from loopback/);
    assert.match(r.line('ami-write', 'WARN')!, /"command" class: .* -> fix: remove "command"/);
    assert.match(r.lines.at(-1)!, /^doctor: protection works/);
    // The AstDB probe cleaned up after itself.
    assert.doesNotMatch(await lab.asteriskCli('database show sipwarden'), /doctor/);
  });

  it('wrong AMI secret: login FAIL with the fix, exit 1', async () => {
    const r = await doctor(config('wrong', { secret: 'not-the-secret' }));
    assert.equal(r.code, 1, r.stdout);
    assert.ok(r.line('ami-reach', ' OK '));
    assert.match(r.line('ami-login', 'FAIL')!, /login as "sipwarden" refused \(.*Authentication failed\) -> fix: make ami\.username\/ami\.secret .* "manager reload"/);
    assert.ok(r.line('ami', 'SKIP'));
  });

  it('AMI user without read = security: FAIL on the read classes and on the live security event', async () => {
    const r = await doctor(config('noread', { username: 'swdoc-noread', secret: 'noread-secret' }));
    assert.equal(r.code, 1, r.stdout);
    assert.ok(r.line('ami-login', ' OK '), r.stdout);
    assert.match(r.line('ami-read', 'FAIL')!, /read = call,dialplan: no security .* -> fix: set read = security,call,dialplan in \[swdoc-noread\]/);
    assert.match(r.line('security-events', 'FAIL')!, /no security event within \d+ ms/);
    assert.ok(r.line('ami-write', ' OK '), r.stdout);
  });

  it('AMI user without write = system: FAIL on the write classes, AstDB and Hangup', async () => {
    const r = await doctor(config('nowrite', { username: 'swdoc-nowrite', secret: 'nowrite-secret' }));
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.line('ami-write', 'FAIL')!, /may not send Hangup .*DBPut .* -> fix: set write = system/);
    assert.ok(r.line('astdb', 'FAIL'), r.stdout);
    assert.match(r.line('hangup', 'FAIL')!, /Permission denied/);
  });
});
