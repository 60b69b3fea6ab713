// Short values that repeat from event to event (AccountID: a botnet tries the
// same few accounts from many sources), read from an ASCII chunk's bytes: the
// text seen before is handed out again instead of a new string per event. The
// detectors then compare accounts by pointer (samples, distinct values, the
// account key table), and a string's hash, which V8 keeps in the string, is
// computed once, not once per event.

/** Makes the string of bytes [start, end) on a miss (remote-address.ts detachBytes). */
export type Detach = (b: DataView, start: number, end: number, text: string, delta: number) => string;

/** Longest value cached: four words. */
export const MAX_CACHED = 16;

/**
 * A direct-mapped cache of 2^cellBits texts by their bytes: fixed size, so
 * values an attacker varies only evict each other (each a miss, which costs
 * what no cache would).
 */
export class TextCache {
  private readonly words: Int32Array;
  private readonly lens: Int32Array;
  private readonly texts: string[];
  private readonly shift: number;

  /** `cellBits` 0 (one cell: every value collides) lets tests check the compare. */
  constructor(
    private readonly detach: Detach,
    cellBits = 10,
  ) {
    const cells = 1 << cellBits;
    this.words = new Int32Array(cells * 4);
    this.lens = new Int32Array(cells).fill(-1);
    this.texts = new Array<string>(cells).fill('');
    this.shift = 32 - cellBits;
  }

  /**
   * The text of bytes [at, at + len) of `b` (an ASCII chunk read as `text`,
   * `text[0]` at byte `delta`), from the cache or made and kept. Values longer
   * than MAX_CACHED, and values whose last word would be read past the end of
   * `b`, are made every time.
   */
  textAt(b: DataView, at: number, len: number, text: string, delta: number): string {
    if (len === 0) return '';
    if (len > MAX_CACHED || at + MAX_CACHED > b.byteLength) return this.detach(b, at, at + len, text, delta);
    const w0 = b.getUint32(at, true) & maskOf(len, 0);
    const w1 = b.getUint32(at + 4, true) & maskOf(len, 1);
    const w2 = b.getUint32(at + 8, true) & maskOf(len, 2);
    const w3 = b.getUint32(at + 12, true) & maskOf(len, 3);
    let h = Math.imul(w0 ^ len, 0x9e3779b1);
    h = Math.imul(h ^ w1, 0x85ebca6b);
    h = Math.imul(h ^ w2 ^ (w3 << 7), 0xc2b2ae35);
    // >>> 32 is >>> 0 in JS: one cell takes no bits.
    const cell = this.shift === 32 ? 0 : h >>> this.shift;
    const i = cell * 4;
    const words = this.words;
    if (this.lens[cell] === len && words[i] === w0 && words[i + 1] === w1 && words[i + 2] === w2 && words[i + 3] === w3) return this.texts[cell]!;
    const made = this.detach(b, at, at + len, text, delta);
    this.lens[cell] = len;
    words[i] = w0;
    words[i + 1] = w1;
    words[i + 2] = w2;
    words[i + 3] = w3;
    this.texts[cell] = made;
    return made;
  }
}

/** The mask of word `w` of a `len`-byte value: the bytes past its end read as 0. */
function maskOf(len: number, w: number): number {
  const r = len - 4 * w;
  return r >= 4 ? 0xffffffff : r <= 0 ? 0 : (1 << (8 * r)) - 1;
}
