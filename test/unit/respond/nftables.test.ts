import assert from 'node:assert/strict';
import { InteractiveNft, type LineProcess } from '../../../src/respond/nft-runner.ts';
import { NftablesResponder, nftSetupBatch, parseNftTable } from '../../../src/respond/nftables.ts';
import { InvalidTargetError } from '../../../src/respond/ban-target.ts';
import { DryRunResponder } from '../../../src/respond/dry-run.ts';
import { MissingToolError, PermissionError } from '../../../src/respond/run-command.ts';
import { pino } from 'pino';
import { NOW, ban, fakeExec } from './helpers.ts';

const silent = pino({ level: 'silent' });

function responder(reply?: Parameters<typeof fakeExec>[0], extra: Record<string, unknown> = {}) {
  const f = fakeExec(reply);
  const r = new NftablesResponder({ exec: f.exec, strategy: 'oneshot', now: () => NOW, logger: silent, ...extra });
  return { r, calls: f.calls };
}

const batches = (calls: Array<{ file: string; args: string[]; stdin?: string }>) => calls.filter((c) => c.file === 'nft' && c.args.join(' ') === '-f -').map((c) => c.stdin);

describe('respond/nftables', () => {
  it('setup batch: own table, timeout sets, priority -10 chain, counters, SIP ports', () => {
    assert.equal(
      nftSetupBatch(),
      [
        'add table inet sipwarden',
        'add set inet sipwarden ban4 { type ipv4_addr; flags timeout; }',
        'add set inet sipwarden ban6 { type ipv6_addr; flags timeout; }',
        'add set inet sipwarden ban4_all { type ipv4_addr; flags timeout; }',
        'add set inet sipwarden ban6_all { type ipv6_addr; flags timeout; }',
        'add set inet sipwarden net4 { type ipv4_addr; flags interval, timeout; }',
        'add set inet sipwarden net6 { type ipv6_addr; flags interval, timeout; }',
        'add set inet sipwarden black4 { type ipv4_addr; flags interval; auto-merge; }',
        'add set inet sipwarden black6 { type ipv6_addr; flags interval; auto-merge; }',
        'add chain inet sipwarden input { type filter hook input priority -10; policy accept; }',
        'flush chain inet sipwarden input',
        'add rule inet sipwarden input ip saddr @black4 counter drop comment "black4"',
        'add rule inet sipwarden input ip saddr @net4 counter drop comment "net4"',
        'add rule inet sipwarden input ip saddr @ban4_all counter drop comment "ban4_all"',
        'add rule inet sipwarden input ip saddr @ban4 udp dport { 5060-5061 } counter drop comment "ban4 udp"',
        'add rule inet sipwarden input ip saddr @ban4 tcp dport { 5060-5061 } counter drop comment "ban4 tcp"',
        'add rule inet sipwarden input ip6 saddr @black6 counter drop comment "black6"',
        'add rule inet sipwarden input ip6 saddr @net6 counter drop comment "net6"',
        'add rule inet sipwarden input ip6 saddr @ban6_all counter drop comment "ban6_all"',
        'add rule inet sipwarden input ip6 saddr @ban6 udp dport { 5060-5061 } counter drop comment "ban6 udp"',
        'add rule inet sipwarden input ip6 saddr @ban6 tcp dport { 5060-5061 } counter drop comment "ban6 tcp"',
        '',
      ].join('\n'),
    );
    assert.match(nftSetupBatch({ udp: [5060, [5080, 5081]], tcp: [] }, -5), /udp dport \{ 5060, 5080-5081 \}/);
    assert.doesNotMatch(nftSetupBatch({ udp: [5060], tcp: [] }), /tcp dport/);
  });

  it('init probes nft, installs in one batch, probes conntrack', async () => {
    const { r, calls } = responder();
    await r.init();
    assert.deepEqual(
      calls.map((c) => [c.file, ...c.args].join(' ')),
      ['nft --version', 'nft -f -', 'conntrack --version'],
    );
    assert.equal(calls[1]?.stdin, nftSetupBatch());
  });

  it('init: missing nft -> MissingToolError; EPERM -> PermissionError naming CAP_NET_ADMIN', async () => {
    await assert.rejects(responder(() => new MissingToolError('nft')).r.init(), (e: unknown) => e instanceof MissingToolError && e.tool === 'nft');
    const eperm = responder((c) => (c.args[0] === '-f' ? { code: 1, stderr: 'netlink: Error: cache initialization failed: Operation not permitted\n' } : {}));
    await assert.rejects(eperm.r.init(), (e: unknown) => e instanceof PermissionError && /CAP_NET_ADMIN/.test(e.message));
  });

  it('apply: exact batch with kernel timeout, then conntrack -D of the source', async () => {
    const { r, calls } = responder();
    await r.apply(ban('198.18.0.11'));
    assert.deepEqual(calls, [
      {
        file: 'nft',
        args: ['-f', '-'],
        stdin:
          'add element inet sipwarden ban4 { 198.18.0.11 timeout 1s }\n' +
          'delete element inet sipwarden ban4 { 198.18.0.11 }\n' +
          'add element inet sipwarden ban4 { 198.18.0.11 timeout 600s }\n',
      },
      { file: 'conntrack', args: ['-D', '-f', 'ipv4', '-s', '198.18.0.11'] },
    ]);
  });

  it('apply picks the set: v6, all ports, networks; timeout = time left to expiresAt', async () => {
    const { r, calls } = responder(undefined, { conntrack: false });
    await r.apply(ban('FD00:5157::0001', { expiresAt: NOW + 90_500 }));
    await r.apply(ban('198.18.0.12', { allPorts: true }));
    await r.apply(ban('198.18.4.7/24'));
    await r.apply(ban('::ffff:198.18.0.13'));
    const b = batches(calls);
    assert.match(b[0] ?? '', /add element inet sipwarden ban6 \{ fd00:5157::1 timeout 91s \}\n$/);
    assert.match(b[1] ?? '', /add element inet sipwarden ban4_all \{ 198.18.0.12 timeout 600s \}\n$/);
    assert.match(b[2] ?? '', /add element inet sipwarden net4 \{ 198.18.4.0\/24 timeout 600s \}\n$/);
    assert.match(b[3] ?? '', /ban4 \{ 198.18.0.13 timeout 600s \}\n$/);
  });

  it('bans always carry a timeout: 0/Infinity -> maxBanMs; expired -> nothing', async () => {
    const { r, calls } = responder(undefined, { conntrack: false, maxBanMs: 86_400_000 });
    await r.apply(ban('198.18.0.20', { durationMs: 0, expiresAt: Number.POSITIVE_INFINITY }));
    await r.apply(ban('198.18.0.21', { durationMs: Number.POSITIVE_INFINITY, expiresAt: Number.POSITIVE_INFINITY }));
    await r.apply(ban('198.18.0.22', { expiresAt: NOW - 1 }));
    const b = batches(calls);
    assert.equal(b.length, 2);
    assert.match(b[0] ?? '', /198.18.0.20 timeout 86400s/);
    assert.match(b[1] ?? '', /198.18.0.21 timeout 86400s/);
  });

  it('100 apply() calls in one tick -> the first at once, the other 99 in one nft exec', async () => {
    const { r, calls } = responder(undefined, { conntrack: false });
    const all = Array.from({ length: 100 }, (_, i) => r.apply(ban(`198.18.${i >> 8}.${(i & 255) + 1}`)));
    assert.equal(batches(calls).length, 1, 'the first ban is handed to nft before apply() returns');
    await Promise.all(all);
    const b = batches(calls);
    assert.equal(b.length, 2);
    assert.equal((b[0] ?? '').split('\n').filter(Boolean).length, 3);
    assert.equal((b[1] ?? '').split('\n').filter(Boolean).length, 297);
    assert.match(b[1] ?? '', /198\.18\.0\.2 /);
  });

  it('refuses hostile or unbannable targets before any exec', async () => {
    const { r, calls } = responder();
    for (const ip of ['1.2.3.4; rm -rf /', '1.2.3.4\n', '{ 1.2.3.4 }', '\x1b[2J1.2.3.4', 'x'.repeat(65536), '127.0.0.1', '0.0.0.0/0', 'fe80::1%eth0']) {
      await assert.rejects(r.apply(ban(ip)), InvalidTargetError, JSON.stringify(ip.slice(0, 20)));
    }
    await assert.rejects(r.apply({ ...ban('198.18.0.1'), target: { account: '100' } }), InvalidTargetError);
    assert.equal(calls.length, 0);
    assert.equal(r.handles({ ...ban('198.18.0.1'), action: 'hangup' }), false);
    assert.equal(r.handles(ban('198.18.0.1')), true);
  });

  it('revoke removes from SIP and all-port sets without "not found" failures', async () => {
    const { r, calls } = responder();
    await r.revoke(ban('198.18.0.11'));
    assert.equal(
      batches(calls)[0],
      'add element inet sipwarden ban4 { 198.18.0.11 timeout 1s }\n' +
        'delete element inet sipwarden ban4 { 198.18.0.11 }\n' +
        'add element inet sipwarden ban4_all { 198.18.0.11 timeout 1s }\n' +
        'delete element inet sipwarden ban4_all { 198.18.0.11 }\n',
    );
  });

  it('a failed batch is retried op by op so one bad op does not sink the rest', async () => {
    const { r, calls } = responder((c) => (c.stdin?.includes('198.18.0.66') ? { code: 1, stderr: 'Error: conflicting intervals\n' } : {}), { conntrack: false });
    const res = await Promise.allSettled([r.apply(ban('198.18.0.65')), r.apply(ban('198.18.0.66')), r.apply(ban('198.18.0.67'))]);
    assert.deepEqual(res.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(batches(calls).length, 4);
  });

  it('reconcile parses nft -j (timeouts, prefixes) and skips the blacklist', async () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { json_schema_version: 1 } },
        { set: { family: 'inet', name: 'ban4', table: 'sipwarden', type: 'ipv4_addr', flags: ['timeout'], elem: [{ elem: { val: '198.18.0.11', timeout: 600, expires: 599 } }] } },
        { set: { family: 'inet', name: 'ban6_all', table: 'sipwarden', type: 'ipv6_addr', flags: ['timeout'], elem: [{ elem: { val: 'fd00:5157::1', timeout: 60, expires: 30 } }] } },
        { set: { family: 'inet', name: 'net4', table: 'sipwarden', type: 'ipv4_addr', elem: [{ elem: { val: { prefix: { addr: '198.18.4.0', len: 24 } }, timeout: 60, expires: 59 } }] } },
        { set: { family: 'inet', name: 'black4', table: 'sipwarden', type: 'ipv4_addr', elem: [{ prefix: { addr: '198.18.8.0', len: 22 } }] } },
        { rule: { family: 'inet', table: 'sipwarden', chain: 'input', comment: 'ban4 udp', expr: [{ counter: { packets: 3, bytes: 120 } }, { drop: null }] } },
      ],
    });
    const { r, calls } = responder((c) => (c.args[0] === '-j' ? { stdout: json } : {}));
    assert.deepEqual(await r.reconcile(), [
      { ip: '198.18.0.11', set: 'ban4', allPorts: false, remainingMs: 599_000 },
      { ip: 'fd00:5157::1', set: 'ban6_all', allPorts: true, remainingMs: 30_000 },
      { ip: '198.18.4.0/24', set: 'net4', allPorts: true, remainingMs: 59_000 },
    ]);
    assert.deepEqual(calls[0]?.args, ['-j', 'list', 'table', 'inet', 'sipwarden']);
    assert.deepEqual((await r.counters())['ban4 udp'], { packets: 3, bytes: 120 });
    assert.deepEqual(parseNftTable('').entries, []);
  });

  it('reconcile on a host without our table is empty', async () => {
    const { r } = responder(() => ({ code: 1, stderr: 'Error: No such file or directory\n' }));
    assert.deepEqual(await r.reconcile(), []);
  });

  it('setBlacklist replaces black sets atomically and refuses bad/too-wide CIDRs', async () => {
    const { r, calls } = responder();
    const res = await r.setBlacklist(['198.18.8.0/22', 'fd00:5157::/64', '198.18.0.1', '0.0.0.0/0', '1.2.3.4; flush ruleset']);
    assert.deepEqual(res.applied, ['198.18.8.0/22', '198.18.0.1', 'fd00:5157::/64']);
    assert.equal(res.rejected.length, 2);
    assert.equal(
      calls[0]?.stdin,
      'flush set inet sipwarden black4\nflush set inet sipwarden black6\n' +
        'add element inet sipwarden black4 { 198.18.8.0/22, 198.18.0.1 }\nadd element inet sipwarden black6 { fd00:5157::/64 }\n',
    );
  });

  it('dryRun option and DryRunResponder log the batch and run nothing', async () => {
    const records: unknown[] = [];
    const r = new NftablesResponder({ dryRun: true, logger: silent, onDryRun: (x) => records.push(x) });
    await r.init();
    await r.apply(ban('198.18.0.11'));
    assert.equal(records.length, 3);
    const d = new DryRunResponder({ logger: silent, nftables: { now: () => NOW } });
    await d.init();
    await d.apply(ban('198.18.0.11'));
    await d.revoke(ban('198.18.0.11'));
    assert.deepEqual(d.records.map((x) => x.file), ['nft', 'nft', 'nft', 'nft']);
    assert.match(d.records[2]?.stdin ?? '', /ban4 \{ 198.18.0.11 timeout 600s \}/);
    assert.deepEqual(await d.reconcile(), []);
    const ipt = new DryRunResponder({ backend: 'iptables-ipset', logger: silent, iptables: { now: () => NOW } });
    await ipt.init();
    await ipt.apply(ban('198.18.0.11'));
    assert.equal(ipt.records.at(-1)?.stdin, 'add sipwarden-ban4 198.18.0.11 timeout 600\n');
  });

  it('a decision flagged dryRun is only logged, even by a live backend', async () => {
    const records: unknown[] = [];
    const f = fakeExec();
    const r = new NftablesResponder({ exec: f.exec, strategy: 'oneshot', logger: silent, now: () => NOW, onDryRun: (x) => records.push(x) });
    await r.apply(ban('198.18.0.11', { dryRun: true }));
    assert.equal(f.calls.length, 0);
    assert.equal(records.length, 1);
  });
});

/** A fake `nft -i`: answers each line like nft would on stderr. */
function fakeNftI(failIf: (line: string) => boolean = () => false) {
  const lines: string[] = [];
  let spawned = 0;
  const spawnFn = (): LineProcess => {
    spawned++;
    let err: (s: string) => void = () => {};
    return {
      write: (s) => {
        for (const l of s.split('\n').filter(Boolean)) {
          lines.push(l);
          // Split the reply in two chunks to exercise reassembly.
          const reply = l.startsWith('list table inet __sipwarden_sync_') || failIf(l) ? `Error: No such file or directory\n${l}\n                ^^^^\n` : '';
          if (reply) {
            setImmediate(() => err(reply.slice(0, 10)));
            setImmediate(() => err(reply.slice(10)));
          }
        }
      },
      onStderr: (cb) => (err = cb),
      onExit: () => {},
      kill: () => {},
    };
  };
  return { spawnFn, lines, spawned: () => spawned };
}

describe('respond/nft-runner interactive', () => {
  it('sends a batch as one line plus a sentinel, reads ok/err by the sentinel', async () => {
    const f = fakeNftI((l) => l.includes('198.18.0.66'));
    const n = new InteractiveNft(f.spawnFn);
    assert.deepEqual(await n.run('add element inet sipwarden ban4 { 198.18.0.1 timeout 5s }\ndelete element inet sipwarden ban4 { 198.18.0.1 }\n'), { ok: true, error: '' });
    assert.deepEqual(f.lines.slice(0, 2), [
      'add element inet sipwarden ban4 { 198.18.0.1 timeout 5s }; delete element inet sipwarden ban4 { 198.18.0.1 }',
      'list table inet __sipwarden_sync_1',
    ]);
    const bad = await n.run('add element inet sipwarden ban4 { 198.18.0.66 timeout 5s }\n');
    assert.equal(bad.ok, false);
    assert.match(bad.error, /198.18.0.66/);
    assert.deepEqual(await n.run('add element inet sipwarden ban4 { 198.18.0.2 timeout 5s }\n'), { ok: true, error: '' });
    assert.equal(f.spawned(), 1);
    await n.close();
  });

  it('the responder with the interactive strategy writes a lone ban at once, then a tick\'s others as one line', async () => {
    const f = fakeNftI();
    const r = new NftablesResponder({ strategy: 'interactive', spawnLine: f.spawnFn, exec: fakeExec().exec, conntrack: false, logger: silent, now: () => NOW });
    const all = Array.from({ length: 50 }, (_, i) => r.apply(ban(`198.18.1.${i + 1}`)));
    // Written before apply() returned: no wait for the event loop to come round.
    assert.equal(f.lines.length, 2);
    assert.match(f.lines[0] ?? '', /198\.18\.1\.1 timeout/);
    await Promise.all(all);
    assert.equal(f.lines.length, 4);
    assert.equal((f.lines[2] ?? '').split('; ').length, 49 * 3, 'the other 49 bans, 3 commands each');
    await r.shutdown();
  });

  it('times out a silent nft and respawns for the next batch', async () => {
    let spawned = 0;
    const n = new InteractiveNft(() => {
      spawned++;
      return { write: () => {}, onStderr: () => {}, onExit: () => {}, kill: () => {} };
    }, 50);
    await assert.rejects(n.run('add table inet sipwarden\n'), /no answer/);
    await assert.rejects(n.run('add table inet sipwarden\n'), /no answer/);
    assert.equal(spawned, 2);
  });
});
