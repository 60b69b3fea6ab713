import assert from 'node:assert/strict';
import { SampleColumn } from '../../../src/detect/sample-column.ts';
import { sampleContract } from './sample-contract.ts';

describe('SampleColumn: evidence samples per slot', () => {
  sampleContract((slots) => {
    const c = new SampleColumn();
    c.grow(slots);
    return c;
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
