import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Words, sameBytes } from '../../../src/sources/ami/bytes-at.ts';
import { latin1View } from '../../helpers/bytes.ts';

describe('bytes-at', () => {
  it('sameBytes = string equality, at any offset, up to the last byte of the chunk', () => {
    const ascii = fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x00-\x7f]/g, 'x'));
    fc.assert(
      fc.property(ascii, ascii, fc.nat({ max: 40 }), fc.boolean(), (value, other, pad, atEnd) => {
        const text = (atEnd ? 'p'.repeat(pad) + value : value + 'q'.repeat(pad)).slice(0);
        const at = atEnd ? pad : 0;
        const view = latin1View(text);
        for (const k of [value, other, value.slice(0, -1) + '\x7f', value + 'z']) {
          const w = Words.of(k);
          assert.equal(sameBytes(view, at, value.length, w), value.length > 0 && value === k, JSON.stringify([value, k]));
        }
      }),
      { numRuns: 3000, seed: 8 },
    );
  });

  it('Words holds nothing for text that is not ASCII or does not fit', () => {
    const w = new Words(8);
    assert.equal(w.set('é'), false);
    assert.equal(w.len, 0);
    assert.equal(w.set('123456789'), false);
    assert.equal(w.set('12345678'), true);
    assert.equal(w.len, 8);
  });
});
