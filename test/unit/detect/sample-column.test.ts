import assert from 'node:assert/strict';
import { SampleColumn, SAMPLES } from '../../../src/detect/sample-column.ts';

describe('SampleColumn: evidence samples per slot', () => {
  it('keeps the first SAMPLES distinct values in first-seen order, per slot', () => {
    const c = new SampleColumn();
    c.grow(4);
    for (const v of ['a', 'b', 'a', '', 'c', 'b', 'd', 'e', 'f']) c.add(1, v);
    c.add(2, 'x');
    c.add(2, 'x');
    assert.equal(SAMPLES, 5);
    assert.deepEqual(c.values(1), ['a', 'b', '', 'c', 'd']);
    assert.deepEqual(c.values(2), ['x']);
    assert.deepEqual(c.values(0), []);
    assert.deepEqual(c.values(99), [], 'a slot past the columns holds nothing');
  });

  it('gives a cleared slot its block back, and the next slot gets it without old texts', () => {
    const c = new SampleColumn();
    c.grow(200);
    for (let s = 0; s < 100; s++) for (const v of ['p', 'q', 'r']) c.add(s, `${v}${s}`);
    for (let s = 0; s < 100; s += 2) c.clear(s);
    for (let s = 0; s < 100; s += 2) assert.deepEqual(c.values(s), []);
    for (let s = 100; s < 150; s++) c.add(s, 'only');
    for (let s = 100; s < 150; s++) for (const v of ['t', 'u']) c.add(s, `${v}${s}`);
    for (let s = 1; s < 100; s += 2) assert.deepEqual(c.values(s), [`p${s}`, `q${s}`, `r${s}`], `slot ${s} kept`);
    for (let s = 100; s < 150; s++) assert.deepEqual(c.values(s), ['only', `t${s}`, `u${s}`], `slot ${s} new`);
  });

  it('starts empty after reset', () => {
    const c = new SampleColumn();
    c.grow(8);
    c.add(3, 'a');
    c.add(3, 'b');
    c.reset();
    assert.deepEqual(c.values(3), []);
    c.grow(8);
    c.add(3, 'c');
    assert.deepEqual(c.values(3), ['c']);
  });
});
