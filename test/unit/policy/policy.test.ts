import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { Policy, type PolicyConfig } from '../../../src/policy/policy.ts';
import { CidrSet, parseCidr } from '../../../src/policy/cidr.ts';
import type { Alert } from '../../../src/domain/types.ts';

const cfg: PolicyConfig = { whitelist: ['198.18.5.0/24', 'fd00:5157:1::/48'], durationsMs: [600_000, 3_600_000, 21_600_000], offenceWindowMs: 7 * 86_400_000, accountBlockMs: 600_000, dryRun: false };

function alert(key: string, over: Partial<Alert> = {}): Alert {
  return {
    rule: 'sip-auth-burst', kind: 'threshold', key, groupBy: 'ip', action: 'ban-ip', time: 1_000_000, reason: '5 failed attempts',
    evidence: { attempts: 5, events: 5, first: '', last: '', sampleAccounts: ['1001'], sampleIps: [key] },
    ...over,
  };
}

describe('CIDR lists', () => {
  it('matches IPv4 and IPv6 ranges', () => {
    const s = new CidrSet(['198.18.0.0/16', 'fd00:5157::/64']);
    assert.ok(s.has('198.18.200.1'));
    assert.ok(!s.has('198.19.0.1'));
    assert.ok(s.has('fd00:5157::99'));
    assert.ok(!s.has('fd00:5158::1'));
    assert.ok(!s.has('not-an-ip'));
  });
  it('refuses bad CIDRs with a reason', () => {
    for (const bad of ['198.18.0.0/33', '198.18.0.01', 'abc', '1.2.3.4/8/8', '::1/129', '1.2.3.4 ']) assert.equal(typeof parseCidr(bad), 'string', bad);
  });
});

describe('Policy', () => {
  it('bans the source of an alert for the first duration step', () => {
    const p = new Policy(cfg);
    const [d] = p.decide(alert('198.18.0.11')).decisions;
    assert.equal(d?.action, 'ban-ip');
    assert.deepEqual(d?.target, { ip: '198.18.0.11' });
    assert.equal(d?.durationMs, 600_000);
    assert.equal(d?.expiresAt, 1_600_000);
  });
  it('never bans a whitelisted address, whatever arrives from it (IPv4 and IPv6)', () => {
    const p = new Policy(cfg);
    for (const ip of ['198.18.5.7', 'fd00:5157:1::5', '127.0.0.1', '::1']) {
      const out = p.decide(alert(ip));
      assert.equal(out.decisions[0]?.action, 'watch', ip);
    }
  });
  it('never bans a trusted trunk, nor a range that covers it', () => {
    const p = new Policy(cfg);
    p.setTrusted([{ cidr: '198.18.0.50', why: 'trunk provider' }]);
    assert.equal(p.decide(alert('198.18.0.50')).decisions[0]?.action, 'watch');
    assert.equal(p.decide(alert('198.18.0.0/24', { groupBy: 'subnet' })).decisions[0]?.action, 'watch');
    assert.equal(p.decide(alert('198.18.9.0/24', { groupBy: 'subnet' })).decisions[0]?.action, 'ban-ip');
  });
  it('does not ban the same target twice while the ban stands', () => {
    const p = new Policy(cfg);
    assert.equal(p.decide(alert('198.18.0.11')).decisions.length, 1);
    const again = p.decide(alert('198.18.0.11', { rule: 'sip-auth-slow', time: 1_100_000 }));
    assert.equal(again.decisions.length, 0);
    assert.match(again.suppressed ?? '', /already/);
  });
  it('escalates repeat offenders: 10 min, then 1 h, then 6 h, then stays at the last step', () => {
    const p = new Policy(cfg);
    const durations: number[] = [];
    let t = 1_000_000;
    for (let i = 0; i < 4; i++) {
      const [d] = p.decide(alert('198.18.0.11', { time: t })).decisions;
      durations.push(d!.durationMs);
      t = d!.expiresAt + 1;
      p.expire(t);
    }
    assert.deepEqual(durations, [600_000, 3_600_000, 21_600_000, 21_600_000]);
  });
  it('uses the journal history for escalation after a restart', () => {
    const p = new Policy(cfg, (key) => (key === 'ip:198.18.0.11' ? 1 : 0));
    assert.equal(p.decide(alert('198.18.0.11')).decisions[0]?.durationMs, 3_600_000);
  });
  it('blocks accounts, but only plain endpoint names', () => {
    const p = new Policy(cfg);
    const ok = p.decide(alert('1002', { groupBy: 'account', action: 'block-account' })).decisions[0];
    assert.equal(ok?.action, 'block-account');
    assert.deepEqual(ok?.target, { account: '1002' });
    const hostile = p.decide(alert('1002&Local/evil', { groupBy: 'account', action: 'block-account' })).decisions[0];
    assert.equal(hostile?.action, 'watch');
  });
  it('keeps its state across a config update', () => {
    const p = new Policy(cfg);
    p.decide(alert('198.18.0.11'));
    p.update({ ...cfg, durationsMs: [60_000] });
    assert.equal(p.decide(alert('198.18.0.11', { time: 1_000_500 })).decisions.length, 0);
    assert.equal(p.activeDecisions().length, 1);
  });
});

describe('CidrSet IPv4 fast path', () => {
  it('answers as net.BlockList does, IPv4-mapped IPv6 entries included', () => {
    const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
    const v6 = fc.oneof(
      fc.constantFrom('::1', '::ffff:0:0/96', '::ffff:198.18.0.0/112', '::/0', '::/64', 'fd00::/8', '64:ff9b::/96', '::ffff:198.18.0.11'),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
    );
    const probe = fc.oneof(fc.ipV4(), fc.constantFrom('198.18.0.11', '0.0.0.0', '255.255.255.255', '::ffff:198.18.0.11', '::1', 'fd00::1'));
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v6), { maxLength: 6 }), fc.array(probe, { minLength: 1, maxLength: 20 }), (entries, probes) => {
        const set = new CidrSet(entries);
        const ref = new BlockList();
        for (const e of entries) {
          const p = parseCidr(e);
          if (typeof p !== 'string') ref.addSubnet(p.network, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
        }
        for (const ip of probes) assert.equal(set.has(ip), ref.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6'), `${ip} in ${entries.join(',')}`);
      }),
      { numRuns: 3000, seed: 31 },
    );
  });
  it('overlaps answers as the BlockList version does', () => {
    const ref = (entries: string[], cidr: string): boolean => {
      const p = parseCidr(cidr);
      if (typeof p === 'string') return false;
      const all = new BlockList();
      for (const e of entries) {
        const q = parseCidr(e);
        if (typeof q !== 'string') all.addSubnet(q.network, q.prefix, q.family === 4 ? 'ipv4' : 'ipv6');
      }
      if (all.check(p.network, p.family === 4 ? 'ipv4' : 'ipv6')) return true;
      const range = new BlockList();
      range.addSubnet(p.network, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
      return entries.some((e) => {
        const q = parseCidr(e);
        return typeof q !== 'string' && q.family === p.family && q.prefix >= p.prefix && range.check(q.network, q.family === 4 ? 'ipv4' : 'ipv6');
      });
    };
    const v4 = fc.tuple(fc.constantFrom('198.18.0.11', '198.18.1.0', '198.19.0.0', '10.0.0.1', '0.0.0.0'), fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
    const v6 = fc.constantFrom('::1', '::ffff:198.18.0.0/112', 'fd00::/8', '::ffff:0:0/96');
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v4, v6), { maxLength: 5 }), v4, (entries, range) => {
        assert.equal(new CidrSet(entries).overlaps(range), ref(entries, range), `${range} vs ${entries.join(',')}`);
      }),
      { numRuns: 5000, seed: 32 },
    );
  });
});

describe('protection fast path', () => {
  it('answers for plain IPv4 what the CIDR path answers (loopback, whitelist, trusted, leading zeros, ranges)', () => {
    const whitelist = ['198.18.5.0/24', '10.0.0.0/8', 'fd00:5157:1::/48'];
    const trusted = [{ cidr: '198.18.0.50', why: 'trunk provider' }, { cidr: '198.19.7.0/24', why: 'trunk (config)' }];
    const p = new Policy({ ...cfg, whitelist });
    p.setTrusted(trusted);
    p.addOwnAddress('198.18.0.1');
    // The general path, as protection() was before its IPv4 shortcut.
    const wl = new CidrSet(whitelist);
    const tr = new CidrSet(['198.18.0.1', ...trusted.map((t) => t.cidr)]);
    const why = new Map<string, string>([['198.18.0.1', 'the PBX itself'], ...trusted.map((t) => [t.cidr, t.why] as [string, string])]);
    const reference = (ip: string): string | null => {
      const c = parseCidr(ip);
      if (typeof c === 'string') return 'not a valid address';
      if (c.family === 4 && c.network.startsWith('127.')) return 'loopback';
      if (c.family === 6 && c.network === '::1') return 'loopback';
      if (c.prefix === (c.family === 4 ? 32 : 128) ? wl.has(c.network) : wl.overlaps(c.text)) return 'whitelisted';
      if (c.prefix === (c.family === 4 ? 32 : 128) ? tr.has(c.network) : tr.overlaps(c.text)) {
        for (const [cidr, w] of why) if (new CidrSet([cidr]).has(c.network) || new CidrSet([c.text]).has(cidr.split('/')[0]!)) return `trusted: ${w}`;
        return 'trusted';
      }
      return null;
    };
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('01', '00', '256', '', '007', '1a'));
    const ip = fc.oneof(
      fc.tuple(fc.constantFrom('127', '198', '10', '0', '255'), fc.constantFrom('18', '19', '0', '5'), octet, octet).map((p) => p.join('.')),
      fc.constantFrom('198.18.0.50', '198.18.0.1', '198.19.7.9', '198.18.5.77', '127.0.0.1', '::1', 'fd00:5157:1::9', '198.18.0.0/16', '1.2.3.4.5', '1.2.3'),
    );
    fc.assert(fc.property(ip, (a) => assert.equal(p.protection(a), reference(a), a)), { numRuns: 5000, seed: 12 });
  });
});
