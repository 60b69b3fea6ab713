import assert from 'node:assert/strict';
import { SAMPLES } from '../../../src/detect/sample-column.ts';

/** What an alert's evidence samples do per slot, however they are stored (sample-column.ts, account-samples.ts). */
export interface Samples {
  add(slot: number, value: string): void;
  values(slot: number): string[];
  clear(slot: number): void;
}

/** The tests every kind of samples passes; `make(slots)` gives empty samples with room for that many slots. */
export function sampleContract(make: (slots: number) => Samples): void {
  it('keeps the first SAMPLES distinct values in first-seen order, per slot', () => {
    const c = make(4);
    for (const v of ['a', 'b', 'a', '', 'c', 'b', 'd', 'e', 'f']) c.add(1, v);
    c.add(2, 'x');
    c.add(2, 'x');
    assert.equal(SAMPLES, 5);
    assert.deepEqual(c.values(1), ['a', 'b', '', 'c', 'd']);
    assert.deepEqual(c.values(2), ['x']);
    assert.deepEqual(c.values(0), []);
    assert.deepEqual(c.values(99), [], 'a slot past the columns holds nothing');
  });

  it('gives a cleared slot its block back, and the next slot gets it without old values', () => {
    const c = make(200);
    for (let s = 0; s < 100; s++) for (const v of ['p', 'q', 'r']) c.add(s, `${v}${s}`);
    for (let s = 0; s < 100; s += 2) c.clear(s);
    for (let s = 0; s < 100; s += 2) assert.deepEqual(c.values(s), []);
    for (let s = 100; s < 150; s++) c.add(s, 'only');
    for (let s = 100; s < 150; s++) for (const v of ['t', 'u']) c.add(s, `${v}${s}`);
    for (let s = 1; s < 100; s += 2) assert.deepEqual(c.values(s), [`p${s}`, `q${s}`, `r${s}`], `slot ${s} kept`);
    for (let s = 100; s < 150; s++) assert.deepEqual(c.values(s), ['only', `t${s}`, `u${s}`], `slot ${s} new`);
  });
}
