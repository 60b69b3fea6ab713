import assert from 'node:assert/strict';
import { TextCache, MAX_CACHED } from '../../../src/normalize/text-cache.ts';
import { detachBytes } from '../../../src/domain/detach.ts';
import { latin1View } from '../../helpers/bytes.ts';

/** A chunk holding `values` one after another, as an ASCII chunk is read: bytes and latin1 text. */
function chunkOf(values: string[]): { b: DataView; text: string; at: number[] } {
  const text = values.join('\r\n') + '\r\n'.repeat(8);
  const at: number[] = [];
  let pos = 0;
  for (const v of values) {
    at.push(pos);
    pos += v.length + 2;
  }
  return { b: latin1View(text), text, at };
}

describe('TextCache (repeated AccountIDs read from the bytes)', () => {
  it('hands back the text of the bytes, for values seen before and new ones alike', () => {
    const values = ['1003', '100', '1003', 'alice', '1003', 'a'.repeat(MAX_CACHED), 'a'.repeat(MAX_CACHED - 1), 'b'.repeat(MAX_CACHED + 1), '1003'];
    const { b, text, at } = chunkOf(values);
    const cache = new TextCache(detachBytes);
    values.forEach((v, i) => assert.equal(cache.textAt(b, at[i]!, v.length, text, 0), v));
  });

  it('tells apart values that differ in any byte or only in length', () => {
    const values = ['1003', '1004', '100', '10030', '1003 ', ' 1003', 'x1003', '1003\u0000', '1003', '1003\u0000\u0000', 'abcdefghijklmnop', 'abcdefghijklmnoq', 'abcdefghijklmno'];
    const { b, text, at } = chunkOf([...values, ...values]);
    // One cell too: every value meets the one before it there.
    for (const cache of [new TextCache(detachBytes), new TextCache(detachBytes, 0), new TextCache(detachBytes, 1)]) {
      [...values, ...values].forEach((v, i) => assert.equal(cache.textAt(b, at[i]!, v.length, text, 0), v));
    }
  });

  it('stays right when many values share cells (more values than cells, bounded)', () => {
    const values: string[] = [];
    for (let i = 0; i < 5000; i++) values.push(String(100 + ((i * 7919) % 3000)));
    const { b, text, at } = chunkOf(values);
    const cache = new TextCache(detachBytes);
    values.forEach((v, i) => assert.equal(cache.textAt(b, at[i]!, v.length, text, 0), v));
  });

  it('reads near the end of the chunk from the text, never past the bytes', () => {
    const b = latin1View('xx1003');
    assert.equal(new TextCache(detachBytes).textAt(b, 2, 4, 'xx1003', 0), '1003');
    assert.equal(new TextCache(detachBytes).textAt(b, 2, 0, 'xx1003', 0), '');
  });

  it('maps bytes to text with the offset of the text in the chunk', () => {
    const chunk = 'HEAD:alice\r\n' + ' '.repeat(32);
    const b = latin1View(chunk);
    // The text starts at byte 5 of the chunk.
    const text = chunk.slice(5);
    assert.equal(new TextCache(detachBytes).textAt(b, 5, 5, text, 5), 'alice');
  });
});
