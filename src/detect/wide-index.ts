/**
 * 128-bit key -> slot, open addressing in one typed array: IPv6 sources and
 * IPv6 networks are looked up as four 32-bit words, with no string per key
 * and nothing for the collector to trace (a flood of a million spoofed IPv6
 * sources would otherwise leave a million strings behind in old space).
 */
const EMPTY = -1;
const DELETED = -2;
/** Cell i: [5i .. 5i+3] the key's words, [5i+4] its slot (or EMPTY / DELETED). */
const STRIDE = 5;

export class WideIndex {
  private cells: Int32Array;
  private mask: number;
  private live = 0;
  private used = 0; // live + deleted markers

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.cells = emptyCells(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The slot of the key w[at .. at+3], or -1. */
  get(w: Int32Array, at = 0): number {
    const o = this.find(w, at);
    return o < 0 ? -1 : this.cells[o + 4]!;
  }

  /** Adds a key that is not in the index. */
  set(w: Int32Array, at: number, slot: number): void {
    const cap = this.mask + 1;
    // As IntIndex: twice the size past 0.4 live, else the deleted markers go in place.
    if ((this.used + 1) * 2 > cap) {
      if (this.live * 5 > cap * 2) this.rehash(cap * 2);
      else this.purge();
    }
    if (this.place(w[at]!, w[at + 1]!, w[at + 2]!, w[at + 3]!, slot)) this.used++;
    this.live++;
  }

  /** Writes the key into the first free cell from its home (no counts kept): true if that cell was empty. */
  private place(w0: number, w1: number, w2: number, w3: number, slot: number): boolean {
    const c = this.cells;
    const mask = this.mask;
    let i = hash(w0, w1, w2, w3) & mask;
    while (c[i * STRIDE + 4]! >= 0) i = (i + 1) & mask;
    const o = i * STRIDE;
    const empty = c[o + 4] === EMPTY;
    c[o] = w0;
    c[o + 1] = w1;
    c[o + 2] = w2;
    c[o + 3] = w3;
    c[o + 4] = slot;
    return empty;
  }

  delete(w: Int32Array, at = 0): void {
    const o = this.find(w, at);
    if (o < 0) return;
    this.cells[o + 4] = DELETED;
    this.live--;
  }

  /** Where the key's cell starts in `cells`, or -1. */
  private find(w: Int32Array, at: number): number {
    const c = this.cells;
    const mask = this.mask;
    const w0 = w[at]!, w1 = w[at + 1]!, w2 = w[at + 2]!, w3 = w[at + 3]!;
    for (let i = hash(w0, w1, w2, w3) & mask; ; i = (i + 1) & mask) {
      const o = i * STRIDE;
      const v = c[o + 4]!;
      if (v === EMPTY) return -1;
      if (v !== DELETED && c[o] === w0 && c[o + 1] === w1 && c[o + 2] === w2 && c[o + 3] === w3) return o;
    }
  }

  clear(capacity = 1024): void {
    const fresh = new WideIndex(capacity);
    this.cells = fresh.cells;
    this.mask = fresh.mask;
    this.live = 0;
    this.used = 0;
  }

  /** Drops the deleted markers without a new array (see IntIndex.purge). */
  private purge(): void {
    const c = this.cells;
    const mask = this.mask;
    let start = 0;
    while (c[start * STRIDE + 4] !== EMPTY) start++;
    for (let o = 4; o < c.length; o += STRIDE) if (c[o] === DELETED) c[o] = EMPTY;
    for (let n = 1; n <= mask; n++) {
      const o = ((start + n) & mask) * STRIDE;
      const slot = c[o + 4]!;
      if (slot < 0) continue;
      c[o + 4] = EMPTY;
      this.place(c[o]!, c[o + 1]!, c[o + 2]!, c[o + 3]!, slot);
    }
    this.used = this.live;
  }

  private rehash(size: number): void {
    const old = this.cells;
    this.cells = emptyCells(size);
    this.mask = size - 1;
    this.live = 0;
    this.used = 0;
    for (let o = 0; o < old.length; o += STRIDE) if (old[o + 4]! >= 0) this.set(old, o, old[o + 4]!);
  }
}

function emptyCells(cap: number): Int32Array {
  const c = new Int32Array(cap * STRIDE);
  for (let o = 4; o < c.length; o += STRIDE) c[o] = EMPTY;
  return c;
}

function hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
