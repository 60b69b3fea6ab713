import type { ActionKind, Decision, Target } from '../domain/types.ts';

/**
 * What the policy keeps of a decision in force: enough to refuse a repeat,
 * expire it, list it and revoke it. The reason and the evidence are not kept
 * here: the journal holds every decision whole (`sipwarden why`).
 */
export type HeldDecision = Omit<Decision, 'reason' | 'evidence'>;

/** The part of a held decision that decides whether an alert repeats it. */
export interface Standing {
  action: ActionKind;
  rule: string;
  expiresAt: number;
  allPorts: boolean;
}

const ALL_PORTS = 1;
const DRY_RUN = 2;
const FIRST_CAPACITY = 64;
/** seq column: the id is not the policy's own d<time>-<seq>, it is in `ids`. */
const OWN_ID = -1;

/**
 * Decisions in force by target key, held in typed columns indexed by a slot,
 * as the detectors hold their keys: a spoofed flood leaves tens of thousands
 * of range bans standing, and an object graph per ban was most of the heap.
 * Rebuilt on the way out: the target from the key when it is a lone address,
 * the id from time and sequence number when the policy made it, rule and
 * action names from a small table. Other ids and targets are kept aside.
 */
export class ActiveDecisions {
  private readonly slots = new Map<string, number>();
  private readonly ids = new Map<number, string>();
  private readonly targets = new Map<number, Target>();
  private readonly names: string[] = [];
  private readonly codes = new Map<string, number>();
  private time = new Float64Array(FIRST_CAPACITY);
  private durationMs = new Float64Array(FIRST_CAPACITY);
  private expiresAt = new Float64Array(FIRST_CAPACITY);
  private offence = new Int32Array(FIRST_CAPACITY);
  private seq = new Int32Array(FIRST_CAPACITY);
  private action = new Uint16Array(FIRST_CAPACITY);
  private rule = new Uint16Array(FIRST_CAPACITY);
  private flags = new Uint8Array(FIRST_CAPACITY);
  private readonly free: number[] = [];
  private used = 0;

  get size(): number {
    return this.slots.size;
  }

  get(key: string): HeldDecision | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.at(key, slot);
  }

  /**
   * What a repeat check reads of the decision held for `key`, without making
   * the whole decision (its id is text): a view reused by the next call.
   */
  standing(key: string): Standing | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    const v = this.view;
    v.action = this.names[this.action[slot]!] as ActionKind;
    v.rule = this.names[this.rule[slot]!]!;
    v.expiresAt = this.expiresAt[slot]!;
    v.allPorts = (this.flags[slot]! & ALL_PORTS) !== 0;
    return v;
  }

  private readonly view: Standing = { action: 'watch', rule: '', expiresAt: 0, allPorts: false };

  /**
   * `key` must be the target's key (policy targetKey); `seq` the sequence
   * number of an id the policy made with ownId (found from the id if not given).
   */
  set(key: string, d: HeldDecision, seq = ownSeq(d.id, d.time)): void {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.free.pop();
      if (slot === undefined) {
        if (this.used === this.time.length) this.grow(this.time.length * 2);
        slot = this.used++;
      }
      this.slots.set(key, slot);
    }
    this.seq[slot] = seq;
    if (seq === OWN_ID) this.ids.set(slot, d.id);
    else this.ids.delete(slot);
    if (isKeyOf(key, d.target)) this.targets.delete(slot);
    else this.targets.set(slot, d.target);
    this.action[slot] = this.code(d.action);
    this.rule[slot] = this.code(d.rule);
    this.time[slot] = d.time;
    this.durationMs[slot] = d.durationMs;
    this.expiresAt[slot] = d.expiresAt;
    this.offence[slot] = d.offence;
    this.flags[slot] = (d.allPorts ? ALL_PORTS : 0) | (d.dryRun ? DRY_RUN : 0);
  }

  delete(key: string): HeldDecision | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    const d = this.at(key, slot);
    this.release(key, slot);
    return d;
  }

  /** Removes and returns every decision that ended at or before `now`. */
  expire(now: number): HeldDecision[] {
    const out: HeldDecision[] = [];
    for (const [key, slot] of this.slots) {
      if (this.expiresAt[slot]! <= now) {
        out.push(this.at(key, slot));
        this.release(key, slot);
      }
    }
    return out;
  }

  values(): HeldDecision[] {
    const out: HeldDecision[] = [];
    for (const [key, slot] of this.slots) out.push(this.at(key, slot));
    return out;
  }

  private at(key: string, slot: number): HeldDecision {
    const flags = this.flags[slot]!;
    const time = this.time[slot]!;
    const seq = this.seq[slot]!;
    return {
      id: seq === OWN_ID ? this.ids.get(slot)! : ownId(time, seq),
      action: this.names[this.action[slot]!] as ActionKind,
      target: this.targets.get(slot) ?? { ip: key.slice(3) },
      rule: this.names[this.rule[slot]!]!,
      time,
      durationMs: this.durationMs[slot]!,
      expiresAt: this.expiresAt[slot]!,
      offence: this.offence[slot]!,
      allPorts: (flags & ALL_PORTS) !== 0,
      dryRun: (flags & DRY_RUN) !== 0,
    };
  }

  /** Rule ids and actions are a handful of names: a small number each in the columns. */
  private code(name: string): number {
    let c = this.codes.get(name);
    if (c === undefined) {
      c = this.names.push(name) - 1;
      this.codes.set(name, c);
    }
    return c;
  }

  private release(key: string, slot: number): void {
    this.slots.delete(key);
    this.ids.delete(slot);
    this.targets.delete(slot);
    this.free.push(slot);
    // Give a past flood's memory back once it is over.
    if (this.slots.size === 0 && this.used > FIRST_CAPACITY) {
      this.free.length = 0;
      this.used = 0;
      this.grow(FIRST_CAPACITY);
    }
  }

  private grow(capacity: number): void {
    this.time = resized(this.time, capacity);
    this.durationMs = resized(this.durationMs, capacity);
    this.expiresAt = resized(this.expiresAt, capacity);
    this.offence = resized(this.offence, capacity);
    this.seq = resized(this.seq, capacity);
    this.action = resized(this.action, capacity);
    this.rule = resized(this.rule, capacity);
    this.flags = resized(this.flags, capacity);
  }
}

/** The policy's decision ids: d<time base 36>-<sequence number base 36>. */
export function ownId(time: number, seq: number): string {
  // Decisions come many to a millisecond: the time's text is made once.
  if (time !== idTime) {
    idTime = time;
    idTimeText = time.toString(36);
  }
  return ['d', idTimeText, '-', seq.toString(36)].join('');
}
let idTime = NaN;
let idTimeText = '';

/** The sequence number of an id ownId(time, seq) made, else OWN_ID. */
function ownSeq(id: string, time: number): number {
  const dash = id.indexOf('-');
  if (dash < 2 || id.charCodeAt(0) !== 0x64 /* d */) return OWN_ID;
  const seq = parseInt(id.slice(dash + 1), 36);
  if (!(seq >= 0 && seq <= 0x7fffffff)) return OWN_ID;
  return ownId(time, seq) === id ? seq : OWN_ID;
}

/** A target of only an address whose key is "ip:<address>": the key says all of it. */
function isKeyOf(key: string, t: Target): boolean {
  const ip = t.ip;
  if (ip === undefined || Object.keys(t).length !== 1) return false;
  return key.length === ip.length + 3 && key.startsWith('ip:') && key.endsWith(ip);
}

function resized<T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a.subarray(0, Math.min(a.length, capacity)) as never);
  return b;
}
