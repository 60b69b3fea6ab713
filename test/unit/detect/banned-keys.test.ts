import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { Subject } from 'rxjs';
import { createRuleEngine } from '../../../src/detect/detector.ts';
import type { Bans } from '../../../src/detect/banned-keys.ts';
import type { DetectionRule } from '../../../src/detect/rule.ts';
import type { Alert, SecurityEvent } from '../../../src/domain/types.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { sec } from '../../helpers/fixtures.ts';

const burst: DetectionRule = { id: 'burst', kind: 'threshold', match: { failures: true }, groupBy: 'ip', count: 'attempts', windowMs: 60_000, threshold: 5, action: 'ban-ip' };
const spray: DetectionRule = { id: 'spray', kind: 'distinct', match: { failures: true }, groupBy: 'account', distinct: 'ip', windowMs: 600_000, threshold: 3, action: 'block-account' };
const allPorts: DetectionRule = { ...burst, id: 'all-ports', allPorts: true };
const BAN_MS = 600_000;

/** A policy stand-in: every ban-ip alert bans its key for BAN_MS (not all ports), the way Policy answers. */
class FakeBans implements Bans {
  revision = 0;
  passedOver = 0;
  readonly held = new Map<string, number>();
  standingBan(alert: Alert) {
    if (alert.action !== 'ban-ip') return undefined;
    if (!this.held.has(alert.key)) this.held.set(alert.key, alert.time + BAN_MS);
    const until = this.held.get(alert.key)!;
    return until > alert.time ? { expiresAt: until, allPorts: false } : undefined;
  }
  passed() {
    this.passedOver++;
  }
}

/** Events one per `gapMs` from `ip` (and accounts a, b, c... when `accounts`), in virtual time; returns the alerts with their times. */
function run(rules: DetectionRule[], bans: FakeBans | undefined, plan: Array<{ at: number; ip?: string; account?: string } | { at: number; unban: true }>) {
  const ts = new TestScheduler(assert.deepEqual);
  const out: Array<{ at: number; rule: string; key: string }> = [];
  ts.run(() => {
    const events$ = new Subject<SecurityEvent>();
    createRuleEngine(rules, { scheduler: ts, sweepMs: 10_000, ...(bans ? { bans } : {}) })(events$).subscribe((a) => out.push({ at: ts.now(), rule: a.rule, key: a.key }));
    for (const step of plan) {
      ts.schedule(() => {
        if ('unban' in step) {
          bans!.held.clear();
          bans!.revision++;
        } else events$.next(sec({ time: ts.now(), ...(step.ip ? { ip: step.ip } : {}), ...(step.account ? { account: step.account } : {}) }));
      }, step.at);
    }
    ts.schedule(() => events$.complete(), 2_000_000);
  });
  return out;
}

const every = (n: number, gapMs: number, from = 0, extra: { ip?: string; account?: string } = {}) => Array.from({ length: n }, (_, i) => ({ at: from + i * gapMs, ...extra }));

describe('detector: sources with a ban in force', () => {
  it('a banned source is passed over by the ban rules until its ban ends, then counted from zero', () => {
    // 5 failures ban; 20 more, one each 10 s, during the 10-minute ban; after it ends 5 more ban again at the 5th.
    const plan = [...every(5, 1000), ...every(20, 10_000, 10_000), ...every(5, 1000, 620_000)];
    const bans = new FakeBans();
    const out = run([burst], bans, plan);
    assert.deepEqual(out.map((a) => a.at), [4000, 624_000]);
    assert.equal(bans.passedOver, 20);
    // Without the policy's word every window of the ban alerts again.
    const plain = run([burst], undefined, plan);
    assert.ok(plain.length > 2, `alerts without bans: ${plain.length}`);
    assert.deepEqual([plain[0]!.at, plain.at(-1)!.at], [4000, 624_000]);
  });
  it('an unban (a new revision) makes the source count again at once', () => {
    const bans = new FakeBans();
    const out = run([burst], bans, [...every(5, 1000), ...every(5, 1000, 100_000), { at: 200_000, unban: true }, ...every(5, 1000, 300_000)]);
    assert.deepEqual(out.map((a) => a.at), [4000, 304_000]);
    assert.equal(bans.passedOver, 5);
  });
  it('other sources are counted as before', () => {
    const bans = new FakeBans();
    const out = run([burst], bans, [...every(5, 1000), ...every(5, 1000, 10_000, { ip: '198.18.0.12' })]);
    assert.deepEqual(out.map((a) => [a.at, a.key]), [[4000, '198.18.0.11'], [14_000, '198.18.0.12']]);
  });
  it('a ban on the SIP ports does not answer a rule that bans all ports', () => {
    const bans = new FakeBans();
    const out = run([burst, allPorts], bans, [...every(5, 1000), ...every(5, 1000, 100_000)]);
    assert.deepEqual(out.map((a) => [a.at, a.rule]), [[4000, 'burst'], [4000, 'all-ports'], [104_000, 'all-ports']]);
  });
  it('rules that do not ban the source (password spraying) still see its events', () => {
    const bans = new FakeBans();
    const sources = ['198.18.0.11', '198.18.0.12', '198.18.0.13'];
    // .11 is banned first; its later failure on account 2001 still counts toward spraying 2001.
    const plan = [...every(5, 1000), { at: 10_000, account: '2001' }, { at: 11_000, ip: sources[1], account: '2001' }, { at: 12_000, ip: sources[2], account: '2001' }];
    const out = run([burst, spray], bans, plan);
    assert.deepEqual(out.map((a) => [a.at, a.rule, a.key]), [[4000, 'burst', '198.18.0.11'], [12_000, 'spray', '2001']]);
    assert.equal(bans.passedOver, 1);
  });
});

describe('pipeline: a banned source and the policy', () => {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  const failures = (p: Pipeline, n: number, from: number, ip = '198.18.0.21') => {
    for (let i = 0; i < n; i++) p.pushEvent(sec({ ip, time: from + i * 1000, sessionId: `s${from + i}` }));
  };
  it('is banned once, its further failures counted apart; after an unban it is banned again at the threshold', () => {
    const p = new Pipeline(config, { dryRun: true });
    const decisions: string[] = [];
    let suppressed = 0;
    p.decisions$.subscribe((d) => decisions.push(`${d.rule} ${d.target.ip} offence ${d.offence}`));
    p.suppressed$.subscribe(() => suppressed++);
    failures(p, 5, 1_000_000);
    assert.deepEqual(decisions, ['sip-auth-burst 198.18.0.21 offence 0']);
    failures(p, 30, 1_010_000);
    assert.deepEqual(decisions, ['sip-auth-burst 198.18.0.21 offence 0']);
    assert.equal(suppressed, 0);
    assert.equal(p.fromBanned, 30);
    p.policy.release({ ip: '198.18.0.21' });
    failures(p, 4, 1_100_000);
    assert.equal(decisions.length, 1);
    failures(p, 1, 1_104_000);
    assert.deepEqual(decisions.slice(1), ['sip-auth-burst 198.18.0.21 offence 1']);
    p.complete();
  });
  it('a ban expired by the clock (the service expires by wall time) is no longer taken as standing', () => {
    const p = new Pipeline(config, { dryRun: true });
    const decisions: string[] = [];
    p.decisions$.subscribe((d) => decisions.push(`${d.rule} ${d.target.ip}`));
    failures(p, 5, 3_000_000, '198.18.0.22');
    assert.equal(p.policy.expire(3_000_000 + 3_600_000).length, 1);
    // Event time says the 10-minute ban still runs; the policy has let it go, so the 5th failure bans again.
    failures(p, 5, 3_100_000, '198.18.0.22');
    assert.equal(p.fromBanned, 0);
    assert.deepEqual(decisions, ['sip-auth-burst 198.18.0.22', 'sip-auth-burst 198.18.0.22']);
    p.complete();
  });
});
