import { grown } from './grown.ts';
import { INT_CELLS, ONE_STAMP, RING_HEAD, STAMP_BLOCK, STAMP_COUNT, TIME_CELLS } from './slot-record.ts';

/** Ring sizes go 8, 16, 32, ...: a class per size, and a pool of blocks per class. */
const FIRST_CLASS_BITS = 3;
const CLASS_BITS = 5;
const CLASS_MASK = (1 << CLASS_BITS) - 1;
// Ring sizes are powers of two: a position wraps with a mask, not a division.


/**
 * The latest stamps (event times) of every slot of one threshold rule, oldest
 * first. One stamp is held inline: under a spoofed flood most keys see one
 * event. From the second stamp on, a slot's stamps are a ring in a block of a
 * pooled Float64Array; a full ring moves to a block twice the size, and a
 * block goes back to its pool when the slot is down to one stamp or cleared.
 * A number[] per key, pushed on every event, cost a growing copy now and then
 * and garbage all the time.
 *
 * The count, the inline stamp and the block reference live in the rule's
 * per-slot records (rule-columns.ts), next to its other cells: an event then
 * touches one place in memory per array instead of one per column, which is
 * what a flood over 100k sources is bound by.
 */
export class StampRings {
  /** Per slot INT_CELLS cells: the count at STAMP_COUNT, the block at STAMP_BLOCK (the rest is the owner's). */
  private ints = new Int32Array(0);
  /**
   * Per slot TIME_CELLS cells: at ONE_STAMP the inline stamp while the slot holds
   * one, and where the oldest stamp is in its ring while it has a ring (a
   * column of its own cost one more cache miss an event under a flood).
   */
  private times = new Float64Array(0);
  private slabs: Float64Array[] = [];
  private made: number[] = [];
  private free: number[][] = [];

  /** `owned`: the rings make their own records (alone, as in tests); else the owner binds its own. */
  constructor(private readonly owned = true) {}

  /** The records the cells are in (the owner's, after each resize of its own). */
  bind(ints: Int32Array<ArrayBuffer>, times: Float64Array<ArrayBuffer>): void {
    this.ints = ints;
    this.times = times;
  }

  grow(capacity: number): void {
    if (this.owned) this.bind(grown(this.ints, capacity * INT_CELLS), grown(this.times, capacity * TIME_CELLS));
  }

  reset(): void {
    if (this.owned) this.bind(new Int32Array(0), new Float64Array(0));
    this.slabs = [];
    this.made = [];
    this.free = [];
  }

  /** Stamps held for the slot. */
  countOf(slot: number): number {
    return this.ints[slot * INT_CELLS + STAMP_COUNT]!;
  }

  /**
   * Stamps `now`, then drops the stamps at or before `horizon` from the
   * oldest end (up to the first live one, as a list trimmed from its front
   * would) and all but the latest `keep` (a rule's threshold, at least 1).
   * Returns how many are held.
   */
  add(slot: number, now: number, horizon: number, keep: number): number {
    const ints = this.ints;
    const times = this.times;
    const r = slot * INT_CELLS;
    const t = slot * TIME_CELLS;
    let n = ints[r + STAMP_COUNT]!;
    if (n <= 1) {
      const held = n === 1 && times[t + ONE_STAMP]! > horizon;
      if (held && keep > 1) {
        const ref = this.take(0);
        const base = baseOf(ref);
        this.slabs[0]![base] = times[t + ONE_STAMP]!;
        this.slabs[0]![base + 1] = now;
        ints[r + STAMP_BLOCK] = ref;
        times[t + RING_HEAD] = 0;
        ints[r + STAMP_COUNT] = 2;
        return 2;
      }
      // The latest stamp alone (a held one is older or is all `keep` allows), or none.
      n = held || now > horizon ? 1 : 0;
      times[t + ONE_STAMP] = now;
      ints[r + STAMP_COUNT] = n;
      return n;
    }
    let ref = ints[r + STAMP_BLOCK]!;
    let cls = classOf(ref);
    let cap = sizeOf(cls);
    let slab = this.slabs[cls]!;
    let base = baseOf(ref);
    let h = times[t + RING_HEAD]!;
    // Only stamps behind live ones are kept past the horizon: drop from the oldest end.
    while (n > 0 && slab[base + h]! <= horizon) {
      if (++h === cap) h = 0;
      n--;
    }
    if (n > 0 || now > horizon) {
      if (n >= keep) {
        const drop = n - keep + 1;
        h = (h + drop) & (cap - 1);
        n -= drop;
      } else if (n === cap) {
        // Full: the ring moves, in order, to a block twice the size.
        const to = this.take(cls + 1);
        const toSlab = this.slabs[cls + 1]!;
        const toBase = baseOf(to);
        for (let i = 0; i < n; i++) toSlab[toBase + i] = slab[base + ((h + i) & (cap - 1))]!;
        this.give(ref);
        ref = to;
        cls++;
        cap *= 2;
        slab = toSlab;
        base = toBase;
        h = 0;
        ints[r + STAMP_BLOCK] = ref;
      }
      slab[base + ((h + n) & (cap - 1))] = now;
      n++;
    }
    if (n <= 1) {
      if (n === 1) times[t + ONE_STAMP] = slab[base + h]!;
      this.give(ref);
      ints[r + STAMP_BLOCK] = 0;
    } else times[t + RING_HEAD] = h;
    ints[r + STAMP_COUNT] = n;
    return n;
  }

  /** The slot's stamps, oldest first (a new array). */
  stampsOf(slot: number): number[] {
    const r = slot * INT_CELLS;
    const t = slot * TIME_CELLS;
    const n = r < this.ints.length ? this.ints[r + STAMP_COUNT]! : 0;
    if (n <= 1) return n === 1 ? [this.times[t + ONE_STAMP]!] : [];
    const ref = this.ints[r + STAMP_BLOCK]!;
    const cap = sizeOf(classOf(ref));
    const slab = this.slabs[classOf(ref)]!;
    const base = baseOf(ref);
    const h = this.times[t + RING_HEAD]!;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(slab[base + ((h + i) & (cap - 1))]!);
    return out;
  }

  /** The slot holds no stamps. */
  clear(slot: number): void {
    const r = slot * INT_CELLS;
    if (r >= this.ints.length) return;
    this.ints[r + STAMP_COUNT] = 0;
    const ref = this.ints[r + STAMP_BLOCK]!;
    if (ref === 0) return;
    this.give(ref);
    this.ints[r + STAMP_BLOCK] = 0;
  }

  /** A block of the class: a freed one, or a new one at the end of its slab. */
  private take(cls: number): number {
    while (this.slabs.length <= cls) {
      this.slabs.push(new Float64Array(0));
      this.made.push(0);
      this.free.push([]);
    }
    const free = this.free[cls]!;
    if (free.length > 0) return free.pop()!;
    const size = sizeOf(cls);
    const block = this.made[cls]!;
    const slab = this.slabs[cls]!;
    if ((block + 1) * size > slab.length) this.slabs[cls] = grown(slab, Math.max(64 * size, slab.length * 2));
    this.made[cls] = block + 1;
    return ((block << CLASS_BITS) | cls) + 1;
  }

  private give(ref: number): void {
    this.free[classOf(ref)]!.push(ref);
  }
}

/** A block reference's size class, the ring size of a class, and where the block starts in its slab. */
const classOf = (ref: number): number => (ref - 1) & CLASS_MASK;
const sizeOf = (cls: number): number => 1 << (cls + FIRST_CLASS_BITS);
const baseOf = (ref: number): number => ((ref - 1) >> CLASS_BITS) * sizeOf(classOf(ref));
