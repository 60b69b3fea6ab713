import type { SlotColumns } from './key-table.ts';
import type { DetectionRule } from './rule.ts';
import { SampleColumn } from './sample-column.ts';
import { StampRings } from './stamp-rings.ts';
import { ATTEMPTS, EVENTS, FIRST, INT_CELLS, LAST, QUIET_UNTIL, TIME_CELLS } from './slot-record.ts';
import { AccountSamples } from './account-samples.ts';
import { filled, grown } from './grown.ts';

/**
 * One rule's per-key state, indexed by the key's slot in its KeyTable. The
 * counters, times and evidence accounts of a slot sit together, a few cells
 * a slot in one Int32Array and one Float64Array (slot-record.ts): under a
 * flood over 100k sources the state is far larger than the caches, and one
 * column per field cost a cache miss per field and event (twice the time of
 * the records, measured). Nearly every key of a spoofed flood sees one event,
 * so the one-item cases (one stamp, one distinct value, one sample) are held
 * inline; more stamps and samples go to pooled blocks (stamp-rings.ts,
 * account-samples.ts, sample-column.ts), more distinct values to a Map.
 */
export class RuleColumns implements SlotColumns {
  /** Per slot INT_CELLS cells (slot-record.ts): EVENTS, ATTEMPTS, the stamp rings' and the account samples' cells. */
  ints = new Int32Array(0);
  /** Per slot TIME_CELLS cells: FIRST, LAST, QUIET_UNTIL, then the inline stamp or VALUE_TIME. */
  times = new Float64Array(0);
  readonly accounts = new AccountSamples();
  /** Only for rules not grouped by IP (an IP key is its own sample). */
  readonly ips = new SampleColumn();
  /** threshold kind: the latest stamps of each key. */
  readonly stamps = new StampRings(false);
  /** distinct kind: the only value and its time inline, or value -> last time seen. */
  value: Array<string | undefined> = [];
  values: Array<Map<string, number> | undefined> = [];
  /**
   * Slots the columns hold. They grow only as far as the rule's own keys
   * reach: a rule that sees no events of a flood costs nothing.
   */
  capacity = 0;
  private tableCapacity = 0;

  constructor(
    private readonly kind: 'threshold' | 'distinct' = 'threshold',
    private readonly trackIps = true,
  ) {}

  grow(capacity: number): void {
    this.tableCapacity = capacity;
  }

  /** Makes sure `slot` has cells (call before writing to it). */
  reach(slot: number): void {
    if (slot < this.capacity) return;
    let cap = Math.max(64, this.capacity);
    while (cap <= slot) cap *= 2;
    this.resize(Math.min(cap, Math.max(this.tableCapacity, slot + 1)));
  }

  private resize(capacity: number): void {
    this.capacity = capacity;
    this.ints = grown(this.ints, capacity * INT_CELLS);
    this.times = grown(this.times, capacity * TIME_CELLS);
    this.accounts.bind(this.ints);
    if (this.trackIps) this.ips.grow(capacity);
    if (this.kind === 'threshold') {
      this.stamps.bind(this.ints, this.times);
      this.stamps.grow(capacity);
    } else {
      filled(this.value, capacity);
      filled(this.values, capacity);
    }
  }

  reset(capacity: number): void {
    this.tableCapacity = capacity;
    this.capacity = 0;
    // Before the records go: the samples give their texts back.
    this.accounts.reset();
    this.ints = new Int32Array(0);
    this.times = new Float64Array(0);
    this.stamps.reset();
    this.stamps.bind(this.ints, this.times);
    this.accounts.bind(this.ints);
    this.ips.reset();
    this.value = [];
    this.values = [];
  }

  /** Detached from its table for good: the account samples give their texts back. */
  dispose(): void {
    this.accounts.reset();
  }

  clear(slot: number): void {
    if (slot >= this.capacity) return;
    this.ints[slot * INT_CELLS + EVENTS] = 0;
    this.accounts.clear(slot);
    if (this.trackIps) this.ips.clear(slot);
    this.forgetCounted(slot);
  }

  /** A fresh window for the slot, starting now. */
  start(slot: number, now: number): void {
    this.clear(slot);
    this.ints[slot * INT_CELLS + ATTEMPTS] = 0;
    const t = slot * TIME_CELLS;
    this.times[t + FIRST] = now;
    this.times[t + LAST] = now;
    this.times[t + QUIET_UNTIL] = 0;
  }

  /** Drops what the kind counted (after an alert: the count starts over). */
  forgetCounted(slot: number): void {
    if (this.kind === 'threshold') {
      this.stamps.clear(slot);
    } else {
      this.value[slot] = undefined;
      this.values[slot] = undefined;
    }
  }

  /** Holds the rule anything for the slot? */
  has(slot: number): boolean {
    return slot < this.capacity && this.ints[slot * INT_CELLS + EVENTS]! > 0;
  }

  /** Does the slot hold live state at `now` for a rule with this window? */
  live(slot: number, now: number, windowMs: number): boolean {
    const t = slot * TIME_CELLS;
    return this.has(slot) && (this.times[t + LAST]! >= now - windowMs || this.times[t + QUIET_UNTIL]! > now);
  }
}


/** The columns a rule needs. */
export function columnsOf(rule: DetectionRule): RuleColumns {
  return new RuleColumns(rule.kind, rule.groupBy !== 'ip');
}
