import { grown } from './grown.ts';

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
 */
export class StampRings {
  /** Stamps held per slot. */
  count = new Int32Array(0);
  /** The stamp of a slot holding one. */
  private one = new Float64Array(0);
  /** Per slot: (block << CLASS_BITS | class) + 1, 0 for none. */
  private ref = new Int32Array(0);
  /** Where the oldest stamp is in the slot's ring. */
  private head = new Int32Array(0);
  private slabs: Float64Array[] = [];
  private made: number[] = [];
  private free: number[][] = [];

  grow(capacity: number): void {
    this.count = grown(this.count, capacity);
    this.one = grown(this.one, capacity);
    this.ref = grown(this.ref, capacity);
    this.head = grown(this.head, capacity);
  }

  reset(): void {
    this.count = new Int32Array(0);
    this.one = new Float64Array(0);
    this.ref = new Int32Array(0);
    this.head = new Int32Array(0);
    this.slabs = [];
    this.made = [];
    this.free = [];
  }

  /**
   * Stamps `now`, then drops the stamps at or before `horizon` from the
   * oldest end (up to the first live one, as a list trimmed from its front
   * would) and all but the latest `keep` (a rule's threshold, at least 1).
   * Returns how many are held.
   */
  add(slot: number, now: number, horizon: number, keep: number): number {
    let n = this.count[slot]!;
    if (n <= 1) {
      const held = n === 1 && this.one[slot]! > horizon;
      if (held && keep > 1) {
        const ref = this.take(0);
        const base = baseOf(ref);
        this.slabs[0]![base] = this.one[slot]!;
        this.slabs[0]![base + 1] = now;
        this.ref[slot] = ref;
        this.head[slot] = 0;
        this.count[slot] = 2;
        return 2;
      }
      // The latest stamp alone (a held one is older or is all `keep` allows), or none.
      n = held || now > horizon ? 1 : 0;
      this.one[slot] = now;
      this.count[slot] = n;
      return n;
    }
    let ref = this.ref[slot]!;
    let cls = classOf(ref);
    let cap = sizeOf(cls);
    let slab = this.slabs[cls]!;
    let base = baseOf(ref);
    let h = this.head[slot]!;
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
        this.ref[slot] = ref;
      }
      slab[base + ((h + n) & (cap - 1))] = now;
      n++;
    }
    if (n <= 1) {
      if (n === 1) this.one[slot] = slab[base + h]!;
      this.give(ref);
      this.ref[slot] = 0;
      this.head[slot] = 0;
    } else this.head[slot] = h;
    this.count[slot] = n;
    return n;
  }

  /** The slot's stamps, oldest first (a new array). */
  stampsOf(slot: number): number[] {
    const n = slot < this.count.length ? this.count[slot]! : 0;
    if (n <= 1) return n === 1 ? [this.one[slot]!] : [];
    const ref = this.ref[slot]!;
    const cap = sizeOf(classOf(ref));
    const slab = this.slabs[classOf(ref)]!;
    const base = baseOf(ref);
    const h = this.head[slot]!;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(slab[base + ((h + i) & (cap - 1))]!);
    return out;
  }

  /** The slot holds no stamps. */
  clear(slot: number): void {
    if (slot >= this.count.length) return;
    this.count[slot] = 0;
    const ref = this.ref[slot]!;
    if (ref === 0) return;
    this.give(ref);
    this.ref[slot] = 0;
    this.head[slot] = 0;
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
