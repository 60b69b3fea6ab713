import { IntIndex } from './int-index.ts';
import { WideIndex } from './wide-index.ts';
import { grown } from './grown.ts';

/**
 * The keys of one grouping (every source IP, every /24, every account), each
 * given a small integer slot. Every rule with that grouping keeps its state in
 * columns indexed by the slot (see rule-columns.ts), so an event costs one key
 * lookup for all of those rules, and a key costs an index entry plus a few
 * typed array cells instead of an object per rule. IPv4 keys (addresses and
 * networks) are indexed as integers; other keys by string.
 */
export interface SlotColumns {
  /** Make room for slots [0, capacity). */
  grow(capacity: number): void;
  /** Forget what the slot held: it is free, or about to hold another key. */
  clear(slot: number): void;
  /** Drop everything and start again with this capacity (the table is empty). */
  reset(capacity: number): void;
  /** Detached for good: give back what is held outside the columns. */
  dispose?(): void;
}

const FIRST_CAPACITY = 256;
/** numOf of a slot keyed by 128 bits. */
const WIDE = -2;

export class KeyTable {
  private readonly index = new Map<string, number>();
  private readonly nums = new IntIndex(FIRST_CAPACITY);
  private readonly wides = new WideIndex(FIRST_CAPACITY);
  /** A slot's text key; '' for an integer or 128-bit key (its text is the event's: see Group). */
  private readonly keyOf: Array<string | undefined> = [];
  /** The integer a slot is indexed by, -1 when it is indexed by string, WIDE by 128 bits. */
  private numOf = new Float64Array(FIRST_CAPACITY);
  /** The 128-bit keys, four words a slot (made with the first such key). */
  private wideOf: Int32Array<ArrayBuffer> = new Int32Array(0);
  /** Set by a hit, cleared when the eviction hand passes the key: its second chance. */
  private hit = new Uint8Array(FIRST_CAPACITY);
  private readonly free: number[] = [];
  private used = 0;
  private capacity = FIRST_CAPACITY;
  private hand = 0;
  private readonly columns = new Set<SlotColumns>();

  /** Most keys held at once (the engine evicts before it goes past): slots are never made beyond it. */
  limit = Infinity;

  get size(): number {
    return this.index.size + this.nums.size + this.wides.size;
  }

  attach(c: SlotColumns): void {
    this.columns.add(c);
    c.grow(this.capacity);
  }

  detach(c: SlotColumns): void {
    if (this.columns.delete(c)) c.dispose?.();
  }

  get attached(): number {
    return this.columns.size;
  }

  /** The slot of a string key, or undefined. */
  get(key: string): number | undefined {
    return this.index.get(key);
  }

  /** The slot of an integer key, or -1. */
  getNum(n: number): number {
    return this.nums.get(n);
  }

  /** The slot of the 128-bit key w[0..3], or -1. */
  getWide(w: Int32Array): number {
    return this.wides.get(w);
  }

  key(slot: number): string {
    return this.keyOf[slot]!;
  }

  /** A new slot for a text key not in the table. */
  insert(key: string): number {
    const slot = this.newSlot();
    this.index.set(key, slot);
    this.keyOf[slot] = key;
    this.numOf[slot] = -1;
    return slot;
  }

  /**
   * A new slot for the integer key `num` (>= 0), not in the table. It keeps
   * no text (key() is ''): under a flood of new sources that is a string less
   * per key to build, hold and promote.
   */
  insertNum(num: number): number {
    const slot = this.newSlot();
    this.nums.set(num, slot);
    this.keyOf[slot] = '';
    this.numOf[slot] = num;
    return slot;
  }

  /** A new slot for the 128-bit key w[0..3], not in the table; it keeps no text (key() is ''). */
  insertWide(w: Int32Array): number {
    const slot = this.newSlot();
    this.wideOf = grown(this.wideOf, this.capacity * 4);
    this.wides.set(w, 0, slot);
    this.wideOf.set(w.subarray(0, 4), slot * 4);
    this.keyOf[slot] = '';
    this.numOf[slot] = WIDE;
    return slot;
  }

  private newSlot(): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.hit[slot] = 0;
    return slot;
  }

  /** The key in `slot` was seen again. */
  touch(slot: number): void {
    this.hit[slot] = 1;
  }

  release(slot: number): void {
    const key = this.keyOf[slot];
    if (key === undefined) return;
    const num = this.numOf[slot]!;
    if (num >= 0) this.nums.delete(num);
    else if (num === WIDE) this.wides.delete(this.wideOf, slot * 4);
    else this.index.delete(key);
    this.keyOf[slot] = undefined;
    for (const c of this.columns) c.clear(slot);
    this.free.push(slot);
  }

  /**
   * Forgets a tenth of the keys in one pass (one per insert would cost a
   * pass per insert), with a second chance (CLOCK): the hand goes round the
   * slots, and a key seen again since the hand last passed is spared once.
   * One-shot spoofed sources go; a source that keeps trying stays tracked.
   */
  evict(): void {
    let n = Math.max(1, Math.floor(this.size / 10));
    // Two turns at most: the first clears every second chance.
    for (let steps = 2 * this.used; n > 0 && steps > 0; steps--) {
      if (this.hand >= this.used) this.hand = 0;
      const slot = this.hand++;
      if (this.keyOf[slot] === undefined) continue;
      if (this.hit[slot] === 1) {
        this.hit[slot] = 0;
        continue;
      }
      this.release(slot);
      n--;
    }
  }

  /** Releases every key for which `dead(slot)` is true. */
  sweep(dead: (slot: number) => boolean): void {
    for (let slot = 0; slot < this.used; slot++) if (this.keyOf[slot] !== undefined && dead(slot)) this.release(slot);
    // Give the memory of a past flood back once it is gone.
    if (this.size === 0 && this.capacity > FIRST_CAPACITY) this.shrink();
  }

  private grow(): void {
    // Doubling, but never past the most keys the table may hold: at a cap of 100,000 keys the
    // columns of every rule are 100,000 cells long, not 131,072.
    this.capacity = this.capacity < this.limit ? Math.min(this.capacity * 2, this.limit) : this.capacity * 2;
    this.hit = grown(this.hit, this.capacity);
    this.numOf = grown(this.numOf, this.capacity);
    if (this.wideOf.length > 0) this.wideOf = grown(this.wideOf, this.capacity * 4);
    for (const c of this.columns) c.grow(this.capacity);
  }

  private shrink(): void {
    this.capacity = FIRST_CAPACITY;
    this.used = 0;
    this.hand = 0;
    this.free.length = 0;
    this.keyOf.length = 0;
    this.hit = new Uint8Array(FIRST_CAPACITY);
    this.numOf = new Float64Array(FIRST_CAPACITY);
    this.wideOf = new Int32Array(0);
    this.nums.clear(FIRST_CAPACITY);
    this.wides.clear(FIRST_CAPACITY);
    for (const c of this.columns) c.reset(FIRST_CAPACITY);
  }
}
