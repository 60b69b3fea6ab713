import { grown } from './grown.ts';
import { ACCOUNT_TEXTS, type InternedTexts } from './interned-texts.ts';
import { INT_CELLS, SAMPLE_FIRST, SAMPLE_MORE } from './slot-record.ts';
import { SAMPLES } from './sample-column.ts';

const MORE = SAMPLES - 1;

/**
 * One rule's evidence accounts for every slot, in first-seen order, as ids
 * of interned texts. The first id and the count of the others sit in the
 * rule's slot record (slot-record.ts), the others in a four-id block taken
 * from a pool and given back when the slot is cleared. Nearly every event
 * of a flood finds its key's sample full or holding the account already: it
 * reads only the record it has just read anyway. Strings in columns of their
 * own cost two cache misses and a write barrier an event and rule (measured:
 * about a tenth of the whole path under a flood over 100k sources).
 */
export class AccountSamples {
  private ints = new Int32Array(0);
  /** Blocks of MORE ids. */
  private pool = new Int32Array(0);
  /** Numbers (+ 1) of the blocks given back. */
  private free: number[] = [];
  private blocks = 0;

  constructor(private readonly texts: InternedTexts = ACCOUNT_TEXTS) {}

  /** The records the cells are in (the owner's, after each resize of its own). */
  bind(ints: Int32Array<ArrayBuffer>): void {
    this.ints = ints;
  }

  /** Adds `value` unless it is there already or the sample is full. */
  add(slot: number, value: string): void {
    const ints = this.ints;
    const r = slot * INT_CELLS;
    const first = ints[r + SAMPLE_FIRST]!;
    const texts = this.texts;
    if (first === 0) {
      ints[r + SAMPLE_FIRST] = texts.hold(value, texts.idOf(value));
      return;
    }
    const m = ints[r + SAMPLE_MORE]!;
    const more = m & 7;
    if (more >= MORE) return;
    const id = texts.idOf(value);
    if (id === first) return;
    let block = m >> 3;
    if (block === 0) block = this.takeBlock();
    const pool = this.pool;
    const base = (block - 1) * MORE;
    // A text not held is in no sample.
    if (id !== 0) for (let i = 0; i < more; i++) if (pool[base + i] === id) return;
    pool[base + more] = texts.hold(value, id);
    ints[r + SAMPLE_MORE] = (block << 3) | (more + 1);
  }

  /** The slot's accounts, oldest first (a new array). */
  values(slot: number): string[] {
    const r = slot * INT_CELLS;
    const first = r < this.ints.length ? this.ints[r + SAMPLE_FIRST]! : 0;
    if (first === 0) return [];
    const out = [this.texts.text(first)];
    const m = this.ints[r + SAMPLE_MORE]!;
    const base = ((m >> 3) - 1) * MORE;
    for (let i = 0; i < (m & 7); i++) out.push(this.texts.text(this.pool[base + i]!));
    return out;
  }

  clear(slot: number): void {
    const ints = this.ints;
    const r = slot * INT_CELLS;
    if (r >= ints.length) return;
    const first = ints[r + SAMPLE_FIRST]!;
    if (first === 0) return;
    const texts = this.texts;
    texts.release(first);
    ints[r + SAMPLE_FIRST] = 0;
    const m = ints[r + SAMPLE_MORE]!;
    if (m === 0) return;
    ints[r + SAMPLE_MORE] = 0;
    const base = ((m >> 3) - 1) * MORE;
    for (let i = 0; i < (m & 7); i++) texts.release(this.pool[base + i]!);
    this.free.push(m >> 3);
  }

  /** Clears every slot (the ids go back to the texts), then starts with no blocks. */
  reset(): void {
    for (let slot = 0; slot * INT_CELLS < this.ints.length; slot++) this.clear(slot);
    this.pool = new Int32Array(0);
    this.free = [];
    this.blocks = 0;
  }

  /** A block given back, or a new one at the end of the pool (grown by doubling). */
  private takeBlock(): number {
    if (this.free.length > 0) return this.free.pop()!;
    if (this.blocks * MORE === this.pool.length) this.pool = grown(this.pool, Math.max(64, this.blocks * 2) * MORE);
    return ++this.blocks;
  }
}
