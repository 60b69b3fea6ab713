/**
 * The keys of one grouping (every source IP, every /24, every account), each
 * given a small integer slot. Every rule with that grouping keeps its state in
 * columns indexed by the slot (see rule-columns.ts), so an event costs one key
 * lookup for all of those rules, and a key costs a Map entry plus a few typed
 * array cells instead of an object per rule.
 */
export interface SlotColumns {
  /** Make room for slots [0, capacity). */
  grow(capacity: number): void;
  /** Forget what the slot held: it is free, or about to hold another key. */
  clear(slot: number): void;
  /** Drop everything and start again with this capacity (the table is empty). */
  reset(capacity: number): void;
}

const FIRST_CAPACITY = 256;

export class KeyTable {
  /** key -> slot. The front is evicted first (see evictOldest). */
  private readonly index = new Map<string, number>();
  private readonly keyOf: Array<string | undefined> = [];
  /** Set by a hit, cleared when eviction passes the key: its second chance. */
  private hit = new Uint8Array(FIRST_CAPACITY);
  private readonly free: number[] = [];
  private used = 0;
  private capacity = FIRST_CAPACITY;
  private readonly columns = new Set<SlotColumns>();

  get size(): number {
    return this.index.size;
  }

  attach(c: SlotColumns): void {
    this.columns.add(c);
    c.grow(this.capacity);
  }

  detach(c: SlotColumns): void {
    this.columns.delete(c);
  }

  get attached(): number {
    return this.columns.size;
  }

  get(key: string): number | undefined {
    return this.index.get(key);
  }

  key(slot: number): string {
    return this.keyOf[slot]!;
  }

  /** A new slot for a key not in the table. */
  insert(key: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.index.set(key, slot);
    this.keyOf[slot] = key;
    this.hit[slot] = 0;
    return slot;
  }

  /** The key in `slot` was seen again. */
  touch(slot: number): void {
    this.hit[slot] = 1;
  }

  release(key: string, slot: number): void {
    this.index.delete(key);
    this.keyOf[slot] = undefined;
    for (const c of this.columns) c.clear(slot);
    this.free.push(slot);
  }

  /**
   * Forgets a tenth of the keys in one pass (one per insert would walk the
   * deleted entries at the front again and again), oldest first, with a
   * second chance (CLOCK): a key seen again since the last pass moves to the
   * back instead. One-shot spoofed sources go; a source that keeps trying
   * stays tracked. Moving keys only here keeps the hot path free of Map
   * writes.
   */
  evictOldest(): void {
    let n = Math.max(1, Math.floor(this.index.size / 10));
    // Entries moved to the back are met again; the pass then evicts them.
    for (const [key, slot] of this.index) {
      if (this.hit[slot] === 1) {
        this.hit[slot] = 0;
        this.index.delete(key);
        this.index.set(key, slot);
        continue;
      }
      this.release(key, slot);
      if (--n === 0) return;
    }
  }

  /** Releases every key for which `dead(slot)` is true. */
  sweep(dead: (slot: number) => boolean): void {
    for (const [key, slot] of this.index) if (dead(slot)) this.release(key, slot);
    // Give the memory of a past flood back once it is gone.
    if (this.index.size === 0 && this.capacity > FIRST_CAPACITY) this.shrink();
  }

  private grow(): void {
    this.capacity *= 2;
    const hit = new Uint8Array(this.capacity);
    hit.set(this.hit);
    this.hit = hit;
    for (const c of this.columns) c.grow(this.capacity);
  }

  private shrink(): void {
    this.capacity = FIRST_CAPACITY;
    this.used = 0;
    this.free.length = 0;
    this.keyOf.length = 0;
    this.hit = new Uint8Array(FIRST_CAPACITY);
    for (const c of this.columns) c.reset(FIRST_CAPACITY);
  }
}
