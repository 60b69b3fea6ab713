// The ban journal: every decision with its evidence, expiry and escalation
// step, plus revocations. It is what lets a restart put bans back and what
// escalation counts offences from. lowdb holds it; DurableFile makes each
// write crash-safe; writes are coalesced (one in flight, latest state wins)
// so a ban storm costs a handful of fsyncs, and flush() says "on disk now".
import { Low } from 'lowdb';
import type { ActionKind, Decision, Evidence, Target } from '../domain/types.ts';
import type { HeldDecision } from '../policy/active.ts';
import { validateCidr } from '../respond/ip-validate.ts';
import { DurableFile, type DurableFileEvent } from './durable-file.ts';

export type EntryOrigin = 'decision' | 'unknown-origin';

export interface JournalEntry {
  readonly id: string;
  readonly action: ActionKind;
  readonly target: Target;
  /** "ip:198.18.0.11", "ip:198.18.4.0/24", "account:100", "channel:PJSIP/x" */
  readonly targetKey: string;
  readonly rule: string;
  readonly reason: string;
  readonly time: number;
  readonly durationMs: number;
  /** null: no expiry (a permanent ban). JSON has no Infinity. */
  readonly expiresAt: number | null;
  readonly offence: number;
  readonly allPorts: boolean;
  readonly evidence: Evidence;
  readonly dryRun: boolean;
  readonly origin: EntryOrigin;
  revokedAt?: number;
  revokedReason?: string;
}

export interface JournalData {
  version: 1;
  entries: JournalEntry[];
}

const HOLDING_ACTIONS: ReadonlySet<ActionKind> = new Set<ActionKind>(['ban-ip', 'block-account', 'block-intl']);

/**
 * Canonical key of a target, so "::ffff:198.18.0.1" and "198.18.0.1" are one
 * offender. A flat string (join, not +): every entry keeps one.
 */
export function targetKeyOf(t: Target): string {
  if (t.ip !== undefined) {
    const c = validateCidr(t.ip);
    if (!c.ok) return ['ip:', t.ip].join('');
    return ['ip:', c.prefix === (c.family === 4 ? 32 : 128) ? c.network : c.cidr].join('');
  }
  if (t.account !== undefined) return ['account:', t.account].join('');
  if (t.channel !== undefined) return ['channel:', t.channel].join('');
  return 'none:';
}

const ENTRIES_PER_PIECE = 500;

/**
 * The journal file's text (what JSON.stringify gives) in pieces of a few
 * hundred entries: a flood leaves tens of thousands of bans, and the file
 * as one string (33 MB for 54,820 /64 bans), plus its UTF-8 copy, set the
 * service's peak memory at every write.
 */
export function journalPieces(data: JournalData): Iterable<string> {
  // Taken now: record() appends and prune() replaces the array after this call.
  const entries = data.entries.slice();
  const version = data.version;
  return (function* () {
    yield `{"version":${JSON.stringify(version)},"entries":[`;
    for (let i = 0; i < entries.length; i += ENTRIES_PER_PIECE) {
      const piece = entries.slice(i, i + ENTRIES_PER_PIECE).map((e) => JSON.stringify(e)).join(',');
      yield i === 0 ? piece : `,${piece}`;
    }
    yield ']}';
  })();
}

export function isJournalData(x: unknown): x is JournalData {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as { version?: unknown; entries?: unknown };
  return o.version === 1 && Array.isArray(o.entries) && o.entries.every((e) => typeof e === 'object' && e !== null && typeof (e as { id?: unknown }).id === 'string');
}

export function entryOf(d: Decision, origin: EntryOrigin = 'decision'): JournalEntry {
  const timed = Number.isFinite(d.durationMs) && d.durationMs > 0;
  let expiresAt: number | null;
  if (timed) expiresAt = Number.isFinite(d.expiresAt) && d.expiresAt > 0 ? d.expiresAt : d.time + d.durationMs;
  else expiresAt = HOLDING_ACTIONS.has(d.action) ? null : d.time; // 0 on a ban: permanent; on hangup/watch: instant
  return {
    id: d.id,
    action: d.action,
    target: { ...d.target },
    targetKey: targetKeyOf(d.target),
    rule: d.rule,
    reason: d.reason,
    time: d.time,
    durationMs: timed ? d.durationMs : 0,
    expiresAt,
    offence: d.offence,
    allPorts: d.allPorts,
    evidence: d.evidence,
    dryRun: d.dryRun,
    origin,
  };
}

/** Back to a Decision, e.g. to re-apply a ban after a restart. */
export function decisionOf(e: JournalEntry): Decision {
  return {
    id: e.id,
    action: e.action,
    target: e.target,
    rule: e.rule,
    reason: e.reason,
    time: e.time,
    durationMs: e.durationMs,
    expiresAt: e.expiresAt ?? Number.POSITIVE_INFINITY,
    offence: e.offence,
    allPorts: e.allPorts,
    evidence: e.evidence,
    dryRun: e.dryRun,
  };
}

/**
 * A decision the policy holds, whole again: its reason and evidence from its
 * journal entry; without one (never journaled), no reason and empty evidence.
 */
export function wholeDecision(h: HeldDecision, e: JournalEntry | undefined): Decision {
  const at = new Date(h.time).toISOString();
  return {
    id: h.id,
    action: h.action,
    target: h.target,
    rule: h.rule,
    reason: e?.reason ?? '',
    time: h.time,
    durationMs: h.durationMs,
    expiresAt: h.expiresAt,
    offence: h.offence,
    allPorts: h.allPorts,
    evidence: e?.evidence ?? { attempts: 0, events: 0, first: at, last: at, sampleAccounts: [], sampleIps: [] },
    dryRun: h.dryRun,
  };
}

export function isActive(e: JournalEntry, now: number): boolean {
  return !e.dryRun && e.revokedAt === undefined && HOLDING_ACTIONS.has(e.action) && (e.expiresAt === null || e.expiresAt > now);
}

export interface JournalOptions {
  readonly onEvent?: (e: DurableFileEvent) => void;
  readonly fsync?: boolean;
  readonly now?: () => number;
}

export class BanJournal {
  private readonly byKey = new Map<string, JournalEntry[]>();
  private readonly byId = new Map<string, JournalEntry>();
  private version = 0;
  private persisted = 0;
  private writing: Promise<void> | null = null;
  private lastError: Error | null = null;

  private constructor(
    readonly db: Low<JournalData>,
    private readonly now: () => number,
  ) {
    for (const e of db.data.entries) this.index(e);
  }

  static async open(path: string, opts: JournalOptions = {}): Promise<BanJournal> {
    const adapter = new DurableFile<JournalData>(path, {
      validate: isJournalData,
      pieces: journalPieces,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }),
    });
    // Not JSONFilePreset: under NODE_ENV=test it silently keeps data in memory.
    const db = new Low<JournalData>(adapter, { version: 1, entries: [] });
    await db.read();
    return new BanJournal(db, opts.now ?? Date.now);
  }

  /** Record a decision. Persisted by the next coalesced write; await flush() to be sure. */
  record(d: Decision, origin: EntryOrigin = 'decision'): JournalEntry {
    const e = entryOf(d, origin);
    const old = this.byId.get(e.id);
    if (old) this.unindex(old);
    else this.db.data.entries.push(e);
    if (old) this.db.data.entries[this.db.data.entries.indexOf(old)] = e;
    this.index(e);
    this.touch();
    return e;
  }

  /** Mark a decision (by id) revoked. Returns false when unknown. */
  revoke(id: string, reason: string, at: number = this.now()): boolean {
    const e = this.byId.get(id);
    if (!e || e.revokedAt !== undefined) return false;
    e.revokedAt = at;
    e.revokedReason = reason;
    this.touch();
    return true;
  }

  /** Revoke every active entry for a target ("unban 198.18.0.11"). */
  revokeTarget(targetKey: string, reason: string, at: number = this.now()): JournalEntry[] {
    const hit = (this.byKey.get(targetKey) ?? []).filter((e) => isActive(e, at));
    for (const e of hit) this.revoke(e.id, reason, at);
    return hit;
  }

  active(now: number = this.now()): JournalEntry[] {
    return this.db.data.entries.filter((e) => isActive(e, now));
  }

  get(id: string): JournalEntry | undefined {
    return this.byId.get(id);
  }

  /** A held decision with its reason and evidence (see wholeDecision). */
  whole(h: HeldDecision): Decision {
    return wholeDecision(h, this.byId.get(h.id));
  }

  all(): readonly JournalEntry[] {
    return this.db.data.entries;
  }

  byIp(ip: string): JournalEntry[] {
    return [...(this.byKey.get(targetKeyOf({ ip })) ?? [])];
  }

  byTarget(targetKey: string): JournalEntry[] {
    return [...(this.byKey.get(targetKey) ?? [])];
  }

  /** Decisions against a target at or after `sinceMs` (dry runs and adopted bans excluded): the escalation step. */
  offences(targetKey: string, sinceMs: number): number {
    return (this.byKey.get(targetKey) ?? []).filter((e) => e.time >= sinceMs && !e.dryRun && e.origin === 'decision').length;
  }

  /** Drop entries that ended (expired or revoked) more than `retentionMs` ago. */
  prune(now: number, retentionMs: number): number {
    const cutoff = now - retentionMs;
    const keep: JournalEntry[] = [];
    let dropped = 0;
    for (const e of this.db.data.entries) {
      const end = e.revokedAt ?? e.expiresAt;
      if (end !== null && end < cutoff) {
        this.unindex(e);
        dropped++;
      } else keep.push(e);
    }
    if (dropped > 0) {
      this.db.data.entries = keep;
      this.touch();
    }
    return dropped;
  }

  /** Resolves when everything recorded so far is on disk (fsynced). */
  async flush(): Promise<void> {
    const target = this.version;
    for (let i = 0; i < 100 && this.persisted < target; i++) {
      await (this.writing ?? this.startWriting());
      if (this.persisted < target && this.lastError) throw this.lastError;
    }
  }

  /** Last write error, if the latest write failed (the next mutation retries). */
  get writeError(): Error | null {
    return this.lastError;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private touch(): void {
    this.version++;
    if (!this.writing) void this.startWriting();
  }

  private startWriting(): Promise<void> {
    this.writing = (async () => {
      // Each pass writes the state as it is now; mutations during a write
      // are folded into one more pass, however many there were.
      while (this.persisted < this.version) {
        const v = this.version;
        try {
          await this.db.write();
          this.persisted = v;
          this.lastError = null;
        } catch (e) {
          this.lastError = e as Error;
          break;
        }
      }
    })().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private index(e: JournalEntry): void {
    this.byId.set(e.id, e);
    const list = this.byKey.get(e.targetKey);
    if (list) list.push(e);
    else this.byKey.set(e.targetKey, [e]);
  }

  private unindex(e: JournalEntry): void {
    if (this.byId.get(e.id) === e) this.byId.delete(e.id);
    const list = this.byKey.get(e.targetKey);
    if (!list) return;
    const i = list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(e.targetKey);
  }
}
