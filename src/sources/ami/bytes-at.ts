// Comparing text of an ASCII chunk four bytes at a time. On the fast path a
// frame's text is the latin1 reading of its bytes, so char i of the text is
// byte `at + i` of the chunk: a compare of a 24-char value is 6 reads, not 24
// charCodeAt calls.

/** An ASCII string as little-endian 32-bit words, the last one masked to its length. */
export class Words {
  readonly words: Uint32Array;
  readonly masks: Uint32Array;
  len = 0;

  constructor(capacity: number) {
    this.words = new Uint32Array(Math.ceil(capacity / 4));
    this.masks = new Uint32Array(Math.ceil(capacity / 4));
  }

  static of(s: string): Words {
    const w = new Words(s.length);
    w.set(s);
    return w;
  }

  /** Holds `s` (false, and holds nothing, if it does not fit or is not ASCII). */
  set(s: string): boolean {
    this.len = 0;
    if (s.length > this.words.length * 4) return false;
    this.words.fill(0);
    this.masks.fill(0);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      this.words[i >> 2]! |= c << (8 * (i & 3));
      this.masks[i >> 2]! |= 0xff << (8 * (i & 3));
    }
    this.len = s.length;
    return true;
  }
}

/** bytes[at, at + len) are the bytes of `k`, with len === k.len. */
export function sameBytes(b: DataView, at: number, len: number, k: Words): boolean {
  if (len !== k.len || len === 0) return false;
  const n = (len + 3) >> 2;
  if (at + n * 4 > b.byteLength) {
    // The last word would read past the chunk: byte by byte.
    for (let i = 0; i < len; i++) if (b.getUint8(at + i) !== ((k.words[i >> 2]! >>> (8 * (i & 3))) & 0xff)) return false;
    return true;
  }
  for (let i = 0; i < n; i++) if ((b.getUint32(at + 4 * i, true) & k.masks[i]!) >>> 0 !== k.words[i]) return false;
  return true;
}

/** text[at, at + s.length) === s, by char codes: the twin of sameBytes for text (a builtin call costs more on names this short). */
export function sameChars(text: string, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (text.charCodeAt(at + i) !== s.charCodeAt(i)) return false;
  return true;
}
