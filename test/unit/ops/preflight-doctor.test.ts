import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { CAP_NET_ADMIN, capabilityProblem, childHasCap, readCaps, stateDirProblem } from '../../../src/ops/preflight.ts';
import { classesOf, doctorExitCode, formatResult, listedActions, parseAsteriskVersion, permFromGetConfig, runDoctor, type DoctorExec } from '../../../src/ops/doctor.ts';
import type { AmiFrame } from '../../../src/domain/types.ts';
import { MissingToolError } from '../../../src/respond/run-command.ts';

const status = (uid: number, eff: string, bnd: string, amb: string) => `Name:\tnode\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\nCapBnd:\t${bnd}\nCapAmb:\t${amb}\n`;
const ALL = '000001ffffffffff';
const NET_ADMIN = (1n << BigInt(CAP_NET_ADMIN)).toString(16).padStart(16, '0');

describe('ops/preflight', () => {
  const cfg = loadConfig(DEFAULT_CONFIG_PATH);

  it('reads capability sets from /proc status text', () => {
    const c = readCaps(status(0, ALL, ALL, '0000000000000000'))!;
    assert.equal(c.uid, 0);
    assert.ok(childHasCap(c, CAP_NET_ADMIN));
    assert.ok(readCaps(), 'this Linux host has /proc/self/status');
  });

  it('root without CAP_NET_ADMIN in the bounding set, or a user without it ambient, is refused with the fix', () => {
    const noBnd = readCaps(status(0, '000001ffffffefff', '000001ffffffefff', '0'))!;
    assert.match(capabilityProblem(cfg, false, noBnd)!, /needs CAP_NET_ADMIN .*root without CAP_NET_ADMIN in its bounding set: grant it \(systemd: AmbientCapabilities=CAP_NET_ADMIN/);
    const user = readCaps(status(998, NET_ADMIN, NET_ADMIN, '0'))!;
    assert.match(capabilityProblem(cfg, false, user)!, /uid 998 without CAP_NET_ADMIN in its ambient set/);
    const ok = readCaps(status(998, NET_ADMIN, NET_ADMIN, NET_ADMIN))!;
    assert.equal(capabilityProblem(cfg, false, ok), null);
    // dry-run and backend none touch no firewall: no capability needed.
    assert.equal(capabilityProblem(cfg, true, user), null);
    assert.equal(capabilityProblem({ ...cfg, firewall: { ...cfg.firewall, backend: 'none' } }, false, user), null);
  });

  it('a state dir that cannot be made or written: one line with the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swops-pre-'));
    try {
      assert.equal(stateDirProblem(join(dir, 'state')), null, 'created when missing');
      writeFileSync(join(dir, 'file'), '');
      const p = stateDirProblem(join(dir, 'file', 'state'), '/etc/sipwarden/sipwarden.json')!;
      assert.match(p, /^state dir .* cannot be created \(ENOTDIR\): .*StateDirectory=sipwarden.* or set stateDir in \/etc\/sipwarden\/sipwarden\.json$/);
      assert.equal(p.split('\n').length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ops/doctor (pure parts and offline checks)', () => {
  const frame = (h: Array<[string, string]>): AmiFrame => ({ headers: h });

  it('reads read=/write= from a GetConfig answer (last line wins) and never other keys', () => {
    const f = frame([['Response', 'Success'], ['Category-000000', 'sipwarden'], ['Line-000000-000000', 'secret=hunter2'], ['Line-000000-000001', 'read=system'], ['Line-000000-000002', 'read = security,call,dialplan'], ['Line-000000-000003', 'write=system']]);
    assert.equal(permFromGetConfig(f, 'read'), 'security,call,dialplan');
    assert.equal(permFromGetConfig(f, 'write'), 'system');
    assert.deepEqual([...classesOf(' Security, call ,,dialplan')], ['security', 'call', 'dialplan']);
  });

  it('lists the actions of a ListCommands answer', () => {
    const a = listedActions(frame([['Response', 'Success'], ['ActionID', 'x'], ['Hangup', 'Hangup channel.  (Priv: system,call,all)'], ['DBPut', 'Put DB entry.  (Priv: system,all)']]));
    assert.deepEqual([...a], ['Hangup', 'DBPut']);
  });

  it('parses Asterisk versions as CoreSettings reports them', () => {
    assert.deepEqual(parseAsteriskVersion('22.10.1+dfsg+~cs6.17.60671434-1'), [22, 10, 1]);
    assert.deepEqual(parseAsteriskVersion('18.9-cert7'), [18, 9, 0]);
    assert.equal(parseAsteriskVersion('SVN-trunk'), null);
  });

  it('formats one line per check, the fix only on problems; exit 1 only on a failure', () => {
    assert.equal(formatResult({ id: 'nft', status: 'fail', detail: 'not installed', fix: 'apt-get install nftables' }), '[FAIL] nft: not installed -> fix: apt-get install nftables');
    assert.equal(formatResult({ id: 'nft', status: 'ok', detail: 'works', fix: 'x' }), '[ OK ] nft: works');
    assert.equal(doctorExitCode([{ id: 'a', status: 'warn', detail: '' }, { id: 'b', status: 'ok', detail: '' }]), 0);
    assert.equal(doctorExitCode([{ id: 'a', status: 'fail', detail: '' }]), 1);
  });

  it('missing config: one failing line with the fix, nothing else tried', async () => {
    const r = await runDoctor({ configPath: '/nonexistent/sipwarden.json' });
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 'fail');
    assert.match(formatResult(r[0]!), /file not found \(copy config\/sipwarden\.example\.json there\) -> fix: /);
  });

  it('nft missing, conntrack denied, AMI refused: each a line with its fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swops-doc-'));
    try {
      const cfgFile = join(dir, 'c.json');
      writeFileSync(cfgFile, JSON.stringify({ ami: { host: '127.0.0.1', port: 9, secret: 's' }, stateDir: join(dir, 'state') }));
      const calls: string[] = [];
      const exec: DoctorExec = async (file, args) => {
        calls.push([file, ...args].join(' '));
        if (file === 'nft') throw new MissingToolError('nft');
        if (file === 'conntrack') return { code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: sorry, you must be root or get CAP_NET_ADMIN capability to do this' };
        return { code: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' };
      };
      const lines: string[] = [];
      const r = await runDoctor({ configPath: cfgFile, exec, caps: readCaps(status(0, ALL, ALL, '0')), connectTimeoutMs: 2000, onResult: (x) => lines.push(formatResult(x)) });
      const by = (id: string) => r.find((x) => x.id === id)!;
      assert.equal(by('nft').status, 'fail');
      assert.match(formatResult(by('nft')), /not installed; NO KERNEL BANS -> fix: apt-get install nftables/);
      assert.equal(by('conntrack').status, 'warn');
      assert.match(formatResult(by('conntrack')), /-> fix: grant CAP_NET_ADMIN/);
      assert.equal(by('scanner-drop').status, 'ok');
      assert.equal(by('ami-reach').status, 'fail');
      assert.match(formatResult(by('ami-reach')), /ECONNREFUSED.* -> fix: is Asterisk running\?/);
      assert.equal(doctorExitCode(r), 1);
      assert.ok(lines.every((l) => !l.includes('\n')));
      assert.ok(calls.includes('nft list tables'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
