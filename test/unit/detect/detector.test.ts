import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { Subject } from 'rxjs';
import { createDetector } from '../../../src/detect/detector.ts';
import type { DetectionRule } from '../../../src/detect/rule.ts';
import { KeyTable } from '../../../src/detect/key-table.ts';
import type { Alert, SecurityEvent } from '../../../src/domain/types.ts';
import { sec } from '../../helpers/fixtures.ts';

const burst: DetectionRule = { id: 'burst', kind: 'threshold', match: { failures: true }, groupBy: 'ip', count: 'attempts', windowMs: 60_000, threshold: 5, action: 'ban-ip' };

/**
 * Runs a detector in virtual time: each marble letter is an event whose
 * event time is the virtual time it arrives at. Returns the alerts with
 * their virtual emission times.
 */
function runVirtual(rule: DetectionRule, marbles: string, values: Record<string, Partial<SecurityEvent> & { ip?: string }>, state?: KeyTable) {
  const ts = new TestScheduler(assert.deepEqual);
  const out: Array<{ at: number; alert: Alert }> = [];
  ts.run(({ cold }) => {
    const src = cold<Partial<SecurityEvent> & { ip?: string }>(marbles, values);
    const events$ = new Subject<SecurityEvent>();
    const det = createDetector(rule, { scheduler: ts, ...(state ? { table: state } : {}), sweepMs: 10_000 })(events$);
    det.subscribe((alert) => out.push({ at: ts.now(), alert }));
    src.subscribe({ next: (v) => events$.next(sec({ ...v, time: ts.now() })), complete: () => ts.schedule(() => events$.complete(), 200_000) });
  });
  return out;
}

describe('detector kinds in virtual time', () => {
  it('threshold: bans at the 5th failed attempt within 60 s', () => {
    const out = runVirtual(burst, 'a 1s a 1s a 1s a 1s a|', { a: {} });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.at, 4004);
    assert.equal(out[0]!.alert.key, '198.18.0.11');
    assert.equal(out[0]!.alert.evidence.attempts, 5);
  });
  it('threshold: a phone retrying a mistyped password 3 times in a minute is left alone', () => {
    assert.equal(runVirtual(burst, 'a 10s a 10s a|', { a: {} }).length, 0);
  });
  it('threshold: the window slides: 4 attempts, a long pause, 4 more is no ban', () => {
    assert.equal(runVirtual(burst, 'a 1s a 1s a 1s a 90s a 1s a 1s a 1s a|', { a: {} }).length, 0);
  });
  it('threshold: retransmits do not count when the rule counts attempts', () => {
    assert.equal(runVirtual(burst, 'a 1s r 1s r 1s r 1s a 1s r|', { a: {}, r: { attempt: false } }).length, 0);
    assert.equal(runVirtual({ ...burst, count: 'events' }, 'a 1s r 1s r 1s r 1s r|', { a: {}, r: { attempt: false } }).length, 1);
  });
  it('threshold: counts per source, not overall', () => {
    assert.equal(runVirtual(burst, 'a b a b a b a b|', { a: {}, b: { ip: '198.18.0.12' } }).length, 0);
  });
  it('matches only the configured types and services', () => {
    const amiOnly: DetectionRule = { ...burst, id: 'ami', match: { failures: true, services: ['AMI'] }, threshold: 3 };
    assert.equal(runVirtual(amiOnly, 'p p p p|', { p: {} }).length, 0);
    assert.equal(runVirtual(amiOnly, 'm m m|', { m: { service: 'AMI', type: 'InvalidPassword' } }).length, 1);
    assert.equal(runVirtual(burst, 'c c c c c c|', { c: { type: 'ChallengeSent' } }).length, 0, 'ChallengeSent is no failure');
  });
  it('distinct: an extension scan is N distinct accounts from one source', () => {
    const scan: DetectionRule = { id: 'scan', kind: 'distinct', distinct: 'account', match: { types: ['InvalidAccountID'] }, groupBy: 'ip', windowMs: 300_000, threshold: 4, action: 'ban-ip' };
    const v = { a: { type: 'InvalidAccountID' as const, account: '100' }, b: { type: 'InvalidAccountID' as const, account: '101' }, c: { type: 'InvalidAccountID' as const, account: '102' }, d: { type: 'InvalidAccountID' as const, account: '103' } };
    assert.equal(runVirtual(scan, 'a a a b b c c|', v).length, 0, 'the same accounts again are no scan');
    const out = runVirtual(scan, 'a b c d|', v);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.alert.evidence.sampleAccounts, ['100', '101', '102', '103']);
  });
  it('distinct: password spraying is one account failing from many sources', () => {
    const spray: DetectionRule = { id: 'spray', kind: 'distinct', distinct: 'ip', match: { failures: true }, groupBy: 'account', windowMs: 600_000, threshold: 3, action: 'block-account' };
    const out = runVirtual(spray, 'a 1m b 1m c|', { a: { ip: '198.18.0.11' }, b: { ip: '198.18.0.12' }, c: { ip: '198.18.0.13' } });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.alert.key, '1001');
    assert.equal(out[0]!.alert.action, 'block-account');
  });
  it('subnet grouping puts a /24 together', () => {
    const subnet: DetectionRule = { id: 'net', kind: 'distinct', distinct: 'ip', match: { failures: true }, groupBy: 'subnet', prefixV4: 24, windowMs: 600_000, threshold: 3, action: 'ban-ip' };
    const out = runVirtual(subnet, 'a b c|', { a: { ip: '198.18.0.11' }, b: { ip: '198.18.0.12' }, c: { ip: '198.18.0.200' } });
    assert.equal(out[0]?.alert.key, '198.18.0.0/24');
  });
  it('fires once per window for a key, not for every further event', () => {
    assert.equal(runVirtual(burst, 'a a a a a a a a a a a a|', { a: {} }).length, 1);
  });
  it('per-key state expires: memory goes back down when sources go quiet', () => {
    const state = new KeyTable();
    const values: Record<string, { ip: string }> = {};
    let marbles = '';
    for (let i = 0; i < 50; i++) {
      const ch = String.fromCharCode(0x100 + i);
      values[ch] = { ip: `198.18.1.${i}` };
      marbles += ch;
    }
    // 50 spoofed sources once each, then quiet for longer than the window.
    const ts = new TestScheduler(assert.deepEqual);
    let mid = -1;
    ts.run(({ cold }) => {
      const events$ = new Subject<SecurityEvent>();
      createDetector(burst, { scheduler: ts, table: state, sweepMs: 10_000 })(events$).subscribe();
      cold(marbles + '|', values).subscribe({ next: (v) => events$.next(sec({ ...v, time: ts.now() })) });
      ts.schedule(() => (mid = state.size), 100);
      ts.schedule(() => events$.complete(), 200_000);
    });
    assert.equal(mid, 50);
    assert.equal(state.size, 0);
  });
  it('one event that throws does not kill the detector', () => {
    const errors: unknown[] = [];
    const events$ = new Subject<SecurityEvent>();
    const alerts: Alert[] = [];
    createDetector(burst, { onError: (e) => errors.push(e) })(events$).subscribe((a) => alerts.push(a));
    const poisoned = sec();
    Object.defineProperty(poisoned, 'remote', { get: () => { throw new Error('boom'); } });
    events$.next(poisoned);
    for (let i = 0; i < 5; i++) events$.next(sec({ time: i }));
    events$.complete();
    assert.equal(errors.length, 1);
    assert.equal(alerts.length, 1);
  });
});

describe('detector memory bound', () => {
  it('keeps at most maxKeys keys under a spoofed flood, and still catches the real attacker', () => {
    const state = new KeyTable();
    const events$ = new Subject<SecurityEvent>();
    const alerts: Alert[] = [];
    createDetector(burst, { table: state, maxKeys: 1000 })(events$).subscribe((a) => alerts.push(a));
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      // one failure each from 20k spoofed sources; the attacker tries after every 500 of them
      // (it stays tracked while fewer than ~0.9 x maxKeys new keys come between two of its attempts)
      events$.next(sec({ ip: `198.19.${(i >> 8) & 255}.${i & 255}`, time: i }));
      if (i % 500 === 499) events$.next(sec({ ip: '198.18.0.11', time: i }));
      peak = Math.max(peak, state.size);
    }
    events$.complete();
    assert.ok(peak <= 1000, `peak ${peak} keys`);
    assert.deepEqual(alerts.map((a) => a.key), ['198.18.0.11']);
  });
});
