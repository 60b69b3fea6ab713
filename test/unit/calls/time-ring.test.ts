import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimeRing } from '../../../src/calls/time-ring.ts';

describe('TimeRing', () => {
  it('keeps what an array trimmed with shift() keeps (cap, horizon, counts, clear)', () => {
    const op = fc.oneof(
      fc.record({ push: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ drop: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ count: fc.integer({ min: 0, max: 1000 }) }),
      fc.constant({ clear: true }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(op, { maxLength: 300 }), (max, ops) => {
        const ring = new TimeRing(max);
        let ref: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            ring.push(o.push);
            ref.push(o.push);
            while (ref.length > max) ref.shift();
          } else if ('drop' in o) {
            ring.dropThrough(o.drop);
            while (ref.length && ref[0]! <= o.drop) ref.shift();
          } else if ('count' in o) assert.equal(ring.countAfter(o.count), ref.filter((t) => t > o.count).length);
          else {
            ring.clear();
            ref = [];
          }
          assert.equal(ring.size, ref.length);
        }
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
});
