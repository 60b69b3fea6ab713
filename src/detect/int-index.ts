/**
 * uint32 -> slot, open addressing in typed arrays: IPv4 sources and IPv4
 * networks are looked up as integers, with no string hashing or comparison
 * and no pointer to chase into the heap.
 */
const EMPTY = -1;
const DELETED = -2;

export class IntIndex {
  private keys: Uint32Array;
  private vals: Int32Array;
  private mask: number;
  private live = 0;
  private used = 0; // live + deleted markers

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Uint32Array(cap);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The slot of `key`, or -1. */
  get(key: number): number {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = vals[i]!;
      if (v === EMPTY) return -1;
      if (v !== DELETED && keys[i] === key) return v;
    }
  }

  /** Adds a key that is not in the index. */
  set(key: number, slot: number): void {
    if ((this.used + 1) * 2 > this.vals.length) this.rehash(this.live * 4 > this.vals.length ? this.vals.length * 2 : this.vals.length);
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = hash(key) & mask;
    while (vals[i]! >= 0) i = (i + 1) & mask;
    if (vals[i] === EMPTY) this.used++;
    keys[i] = key;
    vals[i] = slot;
    this.live++;
  }

  delete(key: number): void {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = vals[i]!;
      if (v === EMPTY) return;
      if (v !== DELETED && keys[i] === key) {
        vals[i] = DELETED;
        this.live--;
        return;
      }
    }
  }

  clear(capacity = 1024): void {
    const fresh = new IntIndex(capacity);
    this.keys = fresh.keys;
    this.vals = fresh.vals;
    this.mask = fresh.mask;
    this.live = 0;
    this.used = 0;
  }

  private rehash(size: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Uint32Array(size);
    this.vals = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < oldVals.length; i++) if (oldVals[i]! >= 0) this.set(oldKeys[i]!, oldVals[i]!);
  }
}

/** Spreads nearby addresses (one /24 is 256 consecutive keys) over the table. */
function hash(key: number): number {
  let h = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
