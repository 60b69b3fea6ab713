import { filled, grown } from './grown.ts';

/** Up to this many distinct accounts or IPs are kept per key as an alert's evidence. */
export const SAMPLES = 5;
const MORE = SAMPLES - 1;

/**
 * One rule's evidence source IPs for every slot of its key table (rules not
 * grouped by IP), in first-seen order. An IP is its own event's text, kept as
 * it is (accounts, which repeat, are interned: account-samples.ts). The first
 * sample is held inline; the others go to a four-cell block taken from a pool
 * and given back when the slot is cleared. A flood fills and clears these
 * lists all the time: a list array per change cost about half a microsecond
 * an event (garbage, write barriers), a pooled block costs nothing once the
 * pool is warm. The block column is made only when a slot gets a second
 * sample, so a million one-event keys cost one pointer each.
 */
export class SampleColumn {
  private first: Array<string | undefined> = [];
  /** Per slot: block number + 1 (0: none) times 8, plus the samples in the block (0-4). */
  private meta = new Int32Array(0);
  private pool: Array<string | undefined> = [];
  /** Numbers (+ 1) of the blocks given back. */
  private free: number[] = [];
  private blocks = 0;
  private capacity = 0;

  /** Room for slots [0, capacity): the inline cells, filled (a write past the end would make a dictionary). */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    filled(this.first, capacity);
    this.capacity = capacity;
  }

  /** Adds `value` unless it is there already or the list is full. */
  add(slot: number, value: string): void {
    const first = this.first[slot];
    if (first === undefined) {
      this.first[slot] = value;
      return;
    }
    if (first === value) return;
    if (slot >= this.meta.length) this.reachMeta(slot);
    const m = this.meta[slot]!;
    const more = m & 7;
    if (more >= MORE) return;
    let block = m >> 3;
    if (block === 0) block = this.takeBlock();
    const pool = this.pool;
    const base = (block - 1) * MORE;
    for (let i = 0; i < more; i++) if (pool[base + i] === value) return;
    pool[base + more] = value;
    this.meta[slot] = (block << 3) | (more + 1);
  }

  /** The slot's samples, oldest first (a new array). */
  values(slot: number): string[] {
    const first = slot < this.capacity ? this.first[slot] : undefined;
    if (first === undefined) return [];
    const out = [first];
    const m = slot < this.meta.length ? this.meta[slot]! : 0;
    const base = ((m >> 3) - 1) * MORE;
    for (let i = 0; i < (m & 7); i++) out.push(this.pool[base + i]!);
    return out;
  }

  clear(slot: number): void {
    if (slot >= this.capacity) return;
    this.first[slot] = undefined;
    if (slot >= this.meta.length) return;
    const block = this.meta[slot]! >> 3;
    this.meta[slot] = 0;
    if (block === 0) return;
    // The texts go with the slot; the block goes back to the pool.
    this.pool.fill(undefined, (block - 1) * MORE, block * MORE);
    this.free.push(block);
  }

  reset(): void {
    this.first = [];
    this.meta = new Int32Array(0);
    this.pool = [];
    this.free = [];
    this.blocks = 0;
    this.capacity = 0;
  }

  private reachMeta(slot: number): void {
    let cap = Math.max(64, this.meta.length);
    while (cap <= slot) cap *= 2;
    this.meta = grown(this.meta, Math.min(cap, Math.max(this.capacity, slot + 1)));
  }

  /** A block given back, or a new one at the end of the pool (grown by doubling). */
  private takeBlock(): number {
    if (this.free.length > 0) return this.free.pop()!;
    if (this.blocks * MORE === this.pool.length) filled(this.pool, Math.max(64, this.blocks * 2) * MORE);
    return ++this.blocks;
  }
}
