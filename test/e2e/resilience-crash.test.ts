// sipwarden `kill -9` during a ban storm. The real sipwarden (bin/sipwarden.js
// run, nftables) runs inside a network namespace this test creates
// (swres-crash-<pid>), fed by a fake AMI server in the same namespace that
// streams 5 failures from each of 800 sources. sipwarden is SIGKILLed by PID
// in the middle of the storm, then started again. Checks: the journal opens
// (intact, or recovered from its backup), reconcile ran, and no ban is lost:
// every address that was in the kernel set at the kill is banned after the
// restart, and the journal's active bans and the kernel set agree.
// Needs root and nft; skips with the reason otherwise.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BanJournal } from '../../src/store/journal.ts';
import { runCommand } from '../../src/respond/run-command.ts';
import { guardArgv } from './guard-argv.ts';

const NS = `swres-crash-${process.pid}`;
const REPO = new URL('../..', import.meta.url).pathname;
const SOURCES = 800;

const SERVER = `
const net = require('node:net');
const sources = Number(process.argv[1]);
const ip = (i) => '198.18.' + ((i >> 8) & 255) + '.' + (i & 255);
const tv = () => new Date().toISOString().replace('Z', '+0000');
let conn = 0;
net.createServer((s) => {
  s.setNoDelay(true); // as Asterisk sets TCP_NODELAY on manager connections
  s.on('error', () => {});
  const me = ++conn;
  s.write('Asterisk Call Manager/11.0.0\\r\\n');
  let started = false;
  s.on('data', (d) => {
    const txt = d.toString('latin1');
    for (const m of txt.matchAll(/ActionID: ([^\\r]+)/g)) s.write('Response: Success\\r\\nActionID: ' + m[1] + '\\r\\nMessage: ok\\r\\n\\r\\n');
    // Only the first connection gets the storm; a restarted sipwarden sees a quiet PBX.
    if (started || me !== 1 || !/Action: Login/i.test(txt)) return;
    started = true;
    let i = 256;
    const t = setInterval(() => {
      let text = '';
      for (let k = 0; k < 2 && i < 256 + sources; k++, i++)
        for (let n = 0; n < 5; n++)
          text += 'Event: ChallengeResponseFailed\\r\\nPrivilege: security,all\\r\\nEventTV: ' + tv() + '\\r\\nSeverity: Error\\r\\nService: PJSIP\\r\\nAccountID: 1001\\r\\nSessionID: ' + i + '-' + n + '\\r\\nLocalAddress: IPV4/UDP/198.18.0.1/5060\\r\\nRemoteAddress: IPV4/UDP/' + ip(i) + '/5060\\r\\nResponse: ' + (i * 8 + n).toString(16).padStart(32, '0') + '\\r\\n\\r\\n';
      if (text) s.write(text);
      if (i >= 256 + sources) clearInterval(t);
    }, 5);
  });
}).listen(5038, '127.0.0.1', () => console.log('READY'));
`;

async function must(file: string, args: string[]): Promise<string> {
  const r = await runCommand(file, args, undefined, { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function kernelSet(): Promise<Set<string>> {
  const r = await runCommand('ip', ['netns', 'exec', NS, 'nft', '-j', 'list', 'set', 'inet', 'sipwarden', 'ban4'], undefined, { timeoutMs: 20_000 });
  if (r.code !== 0) return new Set();
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ set?: { elem?: Array<string | { elem?: { val?: string } }> } }> };
  const elems = doc.nftables.find((x) => x.set)?.set?.elem ?? [];
  return new Set(elems.map((e) => (typeof e === 'string' ? e : (e.elem?.val ?? ''))));
}

function startSipwarden(config: string): { child: ChildProcess; log: () => string } {
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, ...guardArgv('run', '--config', config, '--no-console')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log };
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('resilience: kill -9 during a ban storm (real sipwarden, nftables, own netns)', function () {
  this.timeout(120_000);
  let dir = '';
  let server: ChildProcess | undefined;
  const started: ChildProcess[] = [];

  before(async function () {
    const why = process.getuid?.() !== 0 ? 'needs root (network namespace, nft)' : (await runCommand('nft', ['--version']).catch(() => ({ code: 1 }))).code !== 0 ? 'nft is not installed' : null;
    if (why) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    await must('ip', ['netns', 'add', NS]);
    await must('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'sw-crash-'));
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', SERVER, String(SOURCES)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('fake AMI did not start')), 10_000);
      server!.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && (clearTimeout(t), res()));
    });
  });

  after(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await runCommand('ip', ['netns', 'del', NS]).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('after a restart the journal is intact, reconciled with the kernel, and no ban is lost', async () => {
    const cfg = JSON.parse(readFileSync(join(REPO, 'config/sipwarden.example.json'), 'utf8')) as Record<string, any>;
    cfg.ami = { ...cfg.ami, host: '127.0.0.1', port: 5038, username: 'sipwarden', secret: 'x' };
    cfg.stateDir = join(dir, 'state');
    cfg.mode = 'enforce';
    cfg.scannerDrop = { ...cfg.scannerDrop, enabled: false };
    cfg.trunks = { discover: false, addresses: [] };
    cfg.asterisk = { ...cfg.asterisk, heartbeat: false, maintenanceBlock: false };
    cfg.firewall = { ...cfg.firewall, flushConntrack: false };
    const config = join(dir, 'sipwarden.json');
    writeFileSync(config, JSON.stringify(cfg));

    const first = startSipwarden(config);
    started.push(first.child);
    // Kill in the middle of the storm: some bans in, more coming.
    const mid = await waitFor(async () => (first.log().match(/"event":"decision"/g)?.length ?? 0) >= 150, 60_000);
    assert.ok(mid, `no ban storm seen:\n${first.log().slice(-2000)}`);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('close', r));
    const decided = first.log().match(/"event":"decision"/g)?.length ?? 0;
    const atKill = await kernelSet();
    assert.ok(atKill.size > 0, 'bans were in the kernel at the kill');
    assert.ok(decided < SOURCES, `killed mid-storm (${decided} of ${SOURCES} decided)`);

    const second = startSipwarden(config);
    started.push(second.child);
    const reconciled = await waitFor(() => /reconcile done/.test(second.log()), 30_000);
    assert.ok(reconciled, `no reconcile after restart:\n${second.log().slice(-2000)}`);
    assert.ok(!/"level":50.*journal/.test(second.log()) || /recovered/.test(second.log()), 'journal problem not recovered');
    await new Promise((r) => setTimeout(r, 300));
    const afterRestart = await kernelSet();
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('close', r));

    for (const ip of atKill) assert.ok(afterRestart.has(ip), `ban of ${ip} lost across kill -9`);
    const journal = await BanJournal.open(join(cfg.stateDir, 'journal.json'));
    const active = new Set(journal.active().filter((e) => e.action === 'ban-ip' && e.target.ip && !e.target.ip.includes('/')).map((e) => e.target.ip!));
    await journal.close();
    for (const ip of afterRestart) assert.ok(active.has(ip), `${ip} in the kernel but not in the journal`);
    for (const ip of active) assert.ok(afterRestart.has(ip), `${ip} in the journal but not in the kernel`);
    console.log(`      crash: ${decided} decisions logged before kill -9, ${atKill.size} in kernel at kill, ${afterRestart.size} after restart, ${active.size} active in the journal`);
  });
});
