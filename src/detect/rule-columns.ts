import type { SlotColumns } from './key-table.ts';
import type { DetectionRule } from './rule.ts';
import { SampleColumn } from './sample-column.ts';
import { StampRings } from './stamp-rings.ts';
import { filled, grown } from './grown.ts';

/**
 * One rule's per-key state, as columns indexed by the key's slot in its
 * KeyTable. Under a spoofed flood nearly every key sees one event, so the
 * one-item cases (one stamp, one distinct value, one sample) are held inline;
 * more stamps and samples go to pooled blocks (stamp-rings.ts,
 * sample-column.ts), more distinct values to a Map.
 */
export class RuleColumns implements SlotColumns {
  /** Frames counted for the key; 0 means the rule holds nothing for it. */
  events = new Int32Array(0);
  attempts = new Int32Array(0);
  first = new Float64Array(0);
  last = new Float64Array(0);
  /** No new alert for the key before this time: the rule already fired. */
  quietUntil = new Float64Array(0);
  readonly accounts = new SampleColumn(true);
  /** Only for rules not grouped by IP (an IP key is its own sample). */
  readonly ips = new SampleColumn(false);
  /** threshold kind: the latest stamps of each key. */
  readonly stamps = new StampRings();
  /** distinct kind: the only value and its time inline, or value -> last time seen. */
  value: Array<string | undefined> = [];
  valueTime = new Float64Array(0);
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
    this.events = grown(this.events, capacity);
    this.attempts = grown(this.attempts, capacity);
    this.first = grown(this.first, capacity);
    this.last = grown(this.last, capacity);
    this.quietUntil = grown(this.quietUntil, capacity);
    this.accounts.grow(capacity);
    if (this.trackIps) this.ips.grow(capacity);
    if (this.kind === 'threshold') {
      this.stamps.grow(capacity);
    } else {
      this.valueTime = grown(this.valueTime, capacity);
      filled(this.value, capacity);
      filled(this.values, capacity);
    }
  }

  reset(capacity: number): void {
    this.tableCapacity = capacity;
    this.capacity = 0;
    this.events = new Int32Array(0);
    this.attempts = new Int32Array(0);
    this.first = new Float64Array(0);
    this.last = new Float64Array(0);
    this.quietUntil = new Float64Array(0);
    this.stamps.reset();
    this.valueTime = new Float64Array(0);
    this.accounts.reset();
    this.ips.reset();
    this.value = [];
    this.values = [];
  }

  clear(slot: number): void {
    if (slot >= this.capacity) return;
    this.events[slot] = 0;
    this.accounts.clear(slot);
    if (this.trackIps) this.ips.clear(slot);
    this.forgetCounted(slot);
  }

  /** A fresh window for the slot, starting now. */
  start(slot: number, now: number): void {
    this.clear(slot);
    this.attempts[slot] = 0;
    this.first[slot] = now;
    this.last[slot] = now;
    this.quietUntil[slot] = 0;
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
    return slot < this.capacity && this.events[slot]! > 0;
  }

  /** Does the slot hold live state at `now` for a rule with this window? */
  live(slot: number, now: number, windowMs: number): boolean {
    return this.has(slot) && (this.last[slot]! >= now - windowMs || this.quietUntil[slot]! > now);
  }
}


/** The columns a rule needs. */
export function columnsOf(rule: DetectionRule): RuleColumns {
  return new RuleColumns(rule.kind, rule.groupBy !== 'ip');
}
