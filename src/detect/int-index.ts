/**
 * uint32 -> slot, open addressing in typed arrays: IPv4 sources and IPv4
 * networks are looked up as integers, with no string hashing or comparison
 * and no pointer to chase into the heap.
 */
const EMPTY = -1;
const DELETED = -2;

export class IntIndex {
  /** Cell i is [2i] the key (as int32) and [2i + 1] its slot: a probe reads one cache line. */
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

  /** The slot of `key`, or -1. */
  get(key: number): number {
    const c = this.cells;
    const mask = this.mask;
    const k = key | 0;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = c[2 * i + 1]!;
      if (v === EMPTY) return -1;
      if (v !== DELETED && c[2 * i] === k) return v;
    }
  }

  /** Adds a key that is not in the index. */
  set(key: number, slot: number): void {
    const cap = this.mask + 1;
    // At half full (deleted markers count): twice the size if the live keys alone would fill more
    // than 0.4 of it, else the markers go, in place. A quarter would put the cap's 100,000 keys in
    // 2^19 cells, twice the memory and cache lines of 2^18.
    if ((this.used + 1) * 2 > cap) {
      if (this.live * 5 > cap * 2) this.rehash(cap * 2);
      else this.purge();
    }
    if (this.place(key, slot)) this.used++;
    this.live++;
  }

  /** Writes the key into the first free cell from its home (no counts kept): true if that cell was empty. */
  private place(key: number, slot: number): boolean {
    const c = this.cells;
    const mask = this.mask;
    let i = hash(key) & mask;
    while (c[2 * i + 1]! >= 0) i = (i + 1) & mask;
    const empty = c[2 * i + 1] === EMPTY;
    c[2 * i] = key | 0;
    c[2 * i + 1] = slot;
    return empty;
  }

  delete(key: number): void {
    const c = this.cells;
    const mask = this.mask;
    const k = key | 0;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = c[2 * i + 1]!;
      if (v === EMPTY) return;
      if (v !== DELETED && c[2 * i] === k) {
        c[2 * i + 1] = DELETED;
        this.live--;
        return;
      }
    }
  }

  clear(capacity = 1024): void {
    const fresh = new IntIndex(capacity);
    this.cells = fresh.cells;
    this.mask = fresh.mask;
    this.live = 0;
    this.used = 0;
  }

  /**
   * Drops the deleted markers without a new array (under a flood at the cap
   * this runs every few ten thousand inserts: a new array each time would be
   * megabytes of garbage, RSS until the collector comes). From a cell that
   * was empty, so that no key's probe path wraps past the start, each key is
   * taken out and put back from its home cell: it lands at or before where it
   * was, and the keys already placed keep unbroken paths.
   */
  private purge(): void {
    const c = this.cells;
    const mask = this.mask;
    let start = 0;
    while (c[2 * start + 1] !== EMPTY) start++;
    for (let i = 1; i < c.length; i += 2) if (c[i] === DELETED) c[i] = EMPTY;
    for (let n = 1; n <= mask; n++) {
      const i = (start + n) & mask;
      const slot = c[2 * i + 1]!;
      if (slot < 0) continue;
      c[2 * i + 1] = EMPTY;
      // The int32 key hashes as its uint32 would.
      this.place(c[2 * i]!, slot);
    }
    this.used = this.live;
  }

  private rehash(size: number): void {
    const old = this.cells;
    this.cells = emptyCells(size);
    this.mask = size - 1;
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1]! >= 0) this.set(old[i]! >>> 0, old[i + 1]!);
  }
}

function emptyCells(cap: number): Int32Array {
  const c = new Int32Array(cap * 2);
  for (let i = 1; i < c.length; i += 2) c[i] = EMPTY;
  return c;
}

/** Spreads nearby addresses (one /24 is 256 consecutive keys) over the table. */
function hash(key: number): number {
  let h = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
