import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { Subject } from 'rxjs';
import { createTollDetector, type TollAlert } from '../../../src/calls/detector.ts';
import type { TollRule } from '../../../src/calls/config.ts';
import type { CallFact, TrackedCall } from '../../../src/calls/tracker.ts';
import { tracked } from './helpers.ts';

const INTL = ['international', 'premium'] as const;
const concurrent: TollRule = { id: 'cc', kind: 'concurrent', classes: [...INTL], scope: 'account', windowMs: 0, max: 2, suspectMax: 1, action: 'hangup' };
const rate: TollRule = { id: 'rt', kind: 'rate', classes: [...INTL], scope: 'account', windowMs: 3_600_000, max: 3, suspectMax: 1, action: 'block-intl' };

type Spec = { type: CallFact['type']; call?: TrackedCall };

/** Runs a toll detector in virtual time: each marble letter is a fact at the virtual time it arrives. */
function runVirtual(rule: TollRule, marbles: string, values: Record<string, Spec>) {
  const ts = new TestScheduler(assert.deepEqual);
  const out: Array<{ at: number; alert: TollAlert }> = [];
  ts.run(({ cold }) => {
    const facts$ = new Subject<CallFact>();
    createTollDetector(rule)(facts$).subscribe((alert) => out.push({ at: ts.now(), alert }));
    cold<Spec>(marbles, values).subscribe({
      next: (v) => facts$.next((v.type === 'reset' ? { type: 'reset', time: ts.now() } : { type: v.type, time: ts.now(), call: v.call! }) as CallFact),
      complete: () => facts$.complete(),
    });
  });
  return out;
}

const a = tracked(), b = tracked(), c = tracked(), d = tracked();
const start = (call: TrackedCall): Spec => ({ type: 'start', call });
const end = (call: TrackedCall): Spec => ({ type: 'end', call });

describe('calls: toll detectors in virtual time', () => {
  it('concurrent: the third international call up at once crosses a limit of 2; the excess is the newest', () => {
    const out = runVirtual(concurrent, 'a 250ms b 250ms c|', { a: start(a), b: start(b), c: start(c) });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.at, 502);
    assert.equal(out[0]!.alert.count, 3);
    assert.deepEqual(out[0]!.alert.excess.map((x) => x.uniqueId), [c.uniqueId]);
  });
  it('concurrent: calls that ended do not count', () => {
    assert.equal(runVirtual(concurrent, 'a b 1s A B 1s c d|', { a: start(a), b: start(b), A: end(a), B: end(b), c: start(c), d: start(d) }).length, 0);
  });
  it('concurrent: a reset (reconnect) forgets the calls up', () => {
    assert.equal(runVirtual(concurrent, 'a b r c d|', { a: start(a), b: start(b), r: { type: 'reset' }, c: start(c), d: start(d) }).length, 0);
  });
  it('concurrent: calls learnt after a reconnect count, and over the limit they are excess', () => {
    const out = runVirtual(concurrent, 'a b c|', { a: { type: 'present', call: a }, b: { type: 'present', call: b }, c: { type: 'present', call: c } });
    assert.equal(out.length, 1);
  });
  it('a suspect account has the tightened limit', () => {
    const s1 = tracked({ suspect: 'authenticated from a new address 198.18.0.66' });
    const s2 = tracked({ suspect: 'authenticated from a new address 198.18.0.66' });
    const out = runVirtual(concurrent, 'a b|', { a: start(s1), b: start(s2) });
    assert.equal(out.length, 1);
    assert.match(out[0]!.alert.reason, /tightened: authenticated from a new address/);
  });
  it('rate: the 4th international call within the hour crosses 3; an office user making 1 or 2 an hour never does', () => {
    const out = runVirtual(rate, 'a 5m A 5m b 5m B 5m c 5m C 5m d|', { a: start(a), A: end(a), b: start(b), B: end(b), c: start(c), C: end(c), d: start(d) });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.alert.count, 4);
    const office = runVirtual(rate, 'a 30m A 30m b 30m B 30m c 30m C 30m d|', { a: start(a), A: end(a), b: start(b), B: end(b), c: start(c), C: end(c), d: start(d) });
    assert.equal(office.length, 0, 'one call every 40 min is never 4 within an hour');
  });
  it('classes not in the rule and emergency calls never count', () => {
    const local = tracked({ exten: '2125550123' });
    const sos = tracked({ exten: '911' });
    assert.equal(runVirtual({ ...concurrent, max: 0, classes: ['international', 'premium', 'local'] }, 'e e e|', { e: start(sos) }).length, 0);
    assert.equal(runVirtual({ ...concurrent, max: 0 }, 'l|', { l: start(local) }).length, 0);
  });
  it('global scope counts every account together', () => {
    const x = tracked({ account: '1001' }), y = tracked({ account: '1004' }), z = tracked({ account: '1003' });
    const out = runVirtual({ ...concurrent, scope: 'global' }, 'x y z|', { x: start(x), y: start(y), z: start(z) });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.alert.key, '*');
  });
});
