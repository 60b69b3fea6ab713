import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  IptablesIpsetResponder,
  ipsetCreateBatch,
  iptablesChainText,
  parseIptablesSaveCounters,
  parseIpsetSave,
} from '../../../src/respond/iptables-ipset.ts';
import { DEFAULT_SIP_PORTS } from '../../../src/respond/ban-target.ts';
import { NOW, ban, fakeExec } from './helpers.ts';

const silent = pino({ level: 'silent' });
const mk = (reply?: Parameters<typeof fakeExec>[0], extra: Record<string, unknown> = {}) => {
  const f = fakeExec(reply);
  return { r: new IptablesIpsetResponder({ exec: f.exec, logger: silent, now: () => NOW, ...extra }), calls: f.calls };
};

describe('respond/iptables-ipset', () => {
  it('creates the sets idempotently', () => {
    assert.equal(
      ipsetCreateBatch(),
      [
        'create sipwarden-ban4 hash:ip family inet timeout 0',
        'create sipwarden-ban4-all hash:ip family inet timeout 0',
        'create sipwarden-net4 hash:net family inet timeout 0',
        'create sipwarden-black4 hash:net family inet',
        'create sipwarden-ban6 hash:ip family inet6 timeout 0',
        'create sipwarden-ban6-all hash:ip family inet6 timeout 0',
        'create sipwarden-net6 hash:net family inet6 timeout 0',
        'create sipwarden-black6 hash:net family inet6',
        '',
      ].join('\n'),
    );
  });

  it('chain text for raw/PREROUTING', () => {
    assert.equal(
      iptablesChainText(4, DEFAULT_SIP_PORTS),
      [
        '*raw',
        ':SIPWARDEN - [0:0]',
        '-A SIPWARDEN -m set --match-set sipwarden-black4 src -m comment --comment "black4" -j DROP',
        '-A SIPWARDEN -m set --match-set sipwarden-net4 src -m comment --comment "net4" -j DROP',
        '-A SIPWARDEN -m set --match-set sipwarden-ban4-all src -m comment --comment "ban4_all" -j DROP',
        '-A SIPWARDEN -p udp -m multiport --dports 5060:5061 -m set --match-set sipwarden-ban4 src -m comment --comment "ban4 udp" -j DROP',
        '-A SIPWARDEN -p tcp -m multiport --dports 5060:5061 -m set --match-set sipwarden-ban4 src -m comment --comment "ban4 tcp" -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('init: sets, chains for v4 and v6, one jump each (only when missing)', async () => {
    const { r, calls } = mk((c) => (c.args.includes('-C') && c.file === 'iptables' ? { code: 1, stderr: 'iptables: Bad rule' } : {}));
    await r.init();
    assert.deepEqual(
      calls.map((c) => [c.file, ...c.args].join(' ')),
      [
        'ipset --version',
        'iptables --version',
        'ip6tables --version',
        'ipset -exist restore',
        'iptables-restore -w --noflush',
        'iptables -w -t raw -C PREROUTING -j SIPWARDEN',
        'iptables -w -t raw -I PREROUTING 1 -j SIPWARDEN',
        'ip6tables-restore -w --noflush',
        'ip6tables -w -t raw -C PREROUTING -j SIPWARDEN',
        'conntrack --version',
      ],
    );
  });

  it('the first op at once, the rest of the tick as one ipset restore; -exist updates timeouts and ignores missing dels', async () => {
    const { r, calls } = mk(undefined, { conntrack: false });
    await Promise.all([r.apply(ban('198.18.0.11')), r.apply(ban('fd00:5157::1', { allPorts: true })), r.apply(ban('198.18.4.9/24')), r.revoke(ban('198.18.0.12'))]);
    assert.deepEqual(calls, [
      { file: 'ipset', args: ['-exist', 'restore'], stdin: 'add sipwarden-ban4 198.18.0.11 timeout 600\n' },
      {
        file: 'ipset',
        args: ['-exist', 'restore'],
        stdin:
          'add sipwarden-ban6-all fd00:5157::1 timeout 600\n' +
          'add sipwarden-net4 198.18.4.0/24 timeout 600\n' +
          'del sipwarden-ban4 198.18.0.12\n' +
          'del sipwarden-ban4-all 198.18.0.12\n',
      },
    ]);
  });

  it('caps timeouts at the ipset maximum and cuts conntrack', async () => {
    const { r, calls } = mk((c) => (c.file === 'conntrack' ? { code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' } : {}));
    await r.apply(ban('198.18.0.11', { durationMs: 0, expiresAt: Number.POSITIVE_INFINITY }));
    assert.equal(calls[0]?.stdin, 'add sipwarden-ban4 198.18.0.11 timeout 2147483\n');
    assert.deepEqual(calls[1], { file: 'conntrack', args: ['-D', '-f', 'ipv4', '-s', '198.18.0.11'] });
  });

  it('parses ipset save and iptables-save counters', () => {
    const save = [
      'create sipwarden-ban4 hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1',
      'add sipwarden-ban4 198.18.0.11 timeout 598',
      'add sipwarden-net4 198.18.4.0/24 timeout 30',
      'add sipwarden-black4 198.18.8.0/22',
      'add users-own-set 198.18.0.99',
    ].join('\n');
    assert.deepEqual(parseIpsetSave(save), [
      { ip: '198.18.0.11', set: 'sipwarden-ban4', allPorts: false, remainingMs: 598_000 },
      { ip: '198.18.4.0/24', set: 'sipwarden-net4', allPorts: true, remainingMs: 30_000 },
      { ip: '198.18.8.0/22', set: 'sipwarden-black4', allPorts: true },
    ]);
    const ipt = [
      '[5:300] -A SIPWARDEN -m set --match-set sipwarden-black4 src -m comment --comment black4 -j DROP',
      '[7:420] -A SIPWARDEN -p udp -m multiport --dports 5060:5061 -m set --match-set sipwarden-ban4 src -m comment --comment "ban4 udp" -j DROP',
      '[1:1] -A OTHER -m comment --comment "ban4 udp" -j DROP',
    ].join('\n');
    assert.deepEqual(parseIptablesSaveCounters(ipt, 'SIPWARDEN'), { black4: { packets: 5, bytes: 300 }, 'ban4 udp': { packets: 7, bytes: 420 } });
  });

  it('uninstall removes only our jump, chain and sets', async () => {
    let deletes = 0;
    const { r, calls } = mk((c) => (c.args.includes('-D') ? (deletes++ < 1 ? {} : { code: 1 }) : {}), { ipv6: false });
    await r.uninstall();
    const cmds = calls.map((c) => [c.file, ...c.args].join(' '));
    assert.ok(cmds.includes('iptables -w -t raw -F SIPWARDEN'));
    assert.ok(cmds.includes('iptables -w -t raw -X SIPWARDEN'));
    assert.ok(cmds.every((c) => !/-F PREROUTING|-F$|flush$|destroy$/.test(c)));
    assert.equal(cmds.filter((c) => c.startsWith('ipset -exist destroy sipwarden-')).length, 8);
  });
});
