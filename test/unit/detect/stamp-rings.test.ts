import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StampRings } from '../../../src/detect/stamp-rings.ts';

/** The list the rings replace: push, drop expired from the front, keep the latest `keep`. */
function listAdd(list: number[], now: number, horizon: number, keep: number): number[] {
  const l = [...list, now];
  let head = 0;
  while (head < l.length && l[head]! <= horizon) head++;
  if (l.length - head > keep) head = l.length - keep;
  return l.slice(head);
}

describe('StampRings: latest stamps per slot in pooled rings', () => {
  it('holds what a trimmed list holds, through growth, wrap-around, clears and block reuse', () => {
    const op = fc.record({
      // Slot 0 most of the time, so its ring fills, wraps and grows between expiries.
      slot: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 5 })),
      dt: fc.oneof(fc.constantFrom(0, 1, 10, 100, 200), fc.integer({ min: -5, max: 400 })),
      clear: fc.integer({ min: 0, max: 60 }),
    });
    // Each slot its own rule (window, threshold), now and then one changed (a reload).
    const rule = fc.record({ window: fc.constantFrom(0, 50, 100, 1000, 1500, 3000, 10_000), keep: fc.constantFrom(1, 2, 3, 5, 8, 9, 17, 40) });
    fc.assert(
      fc.property(fc.array(rule, { minLength: 6, maxLength: 6 }), fc.array(op, { minLength: 150, maxLength: 400 }), fc.array(rule, { minLength: 6, maxLength: 6 }), (rules, ops, reloaded) => {
        const r = new StampRings();
        r.grow(6);
        const model: number[][] = [[], [], [], [], [], []];
        let t = 1_000_000;
        for (const [i, o] of ops.entries()) {
          if (i === 300) rules = reloaded;
          const { window, keep } = rules[o.slot]!;
          if (o.clear === 0) {
            r.clear(o.slot);
            model[o.slot] = [];
            continue;
          }
          t += o.dt;
          model[o.slot] = listAdd(model[o.slot]!, t, t - window, keep);
          assert.equal(r.add(o.slot, t, t - window, keep), model[o.slot]!.length);
          for (let s = 0; s < 6; s++) assert.deepEqual(r.stampsOf(s), model[s], `slot ${s}`);
        }
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it('moves a wrapped ring to a bigger block in order', () => {
    const r = new StampRings();
    r.grow(1);
    for (let t = 0; t < 8; t++) r.add(0, t, -1, 40);
    // Three expire, five more come: the ring of 8 is full again with its oldest at cell 3.
    for (let t = 8; t < 11; t++) r.add(0, t, 2, 40);
    assert.deepEqual(r.stampsOf(0), [3, 4, 5, 6, 7, 8, 9, 10]);
    r.add(0, 11, 2, 40);
    assert.deepEqual(r.stampsOf(0), [3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('keeps 300 stamps of a flood in order and gives the block back after a quiet window', () => {
    const r = new StampRings();
    r.grow(2);
    for (let i = 0; i < 1000; i++) r.add(0, i, i - 10_000, 300);
    assert.deepEqual(r.stampsOf(0), Array.from({ length: 300 }, (_, i) => 700 + i));
    assert.equal(r.add(0, 30_000, 20_000, 300), 1);
    assert.deepEqual(r.stampsOf(0), [30_000]);
    r.add(1, 1, -100, 300);
    r.add(1, 2, -100, 300);
    assert.deepEqual(r.stampsOf(1), [1, 2]);
  });
});
