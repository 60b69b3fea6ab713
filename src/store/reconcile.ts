// Start-up reconciliation: the journal says what should be banned, the
// kernel says what is. planReconcile is pure; executeReconcile carries the
// plan out through a responder and the journal.
//
// Choices (docs/enforcement.md):
//  - journal active, kernel missing  -> re-add with the time left.
//  - both, but kernel time off by more than the tolerance (a capped
//    timeout, a clock jump) -> re-add, which resets the timeout.
//  - journal ended/revoked, kernel still holds it -> remove from kernel.
//  - kernel holds it, journal never heard of it -> ADOPT it as
//    'unknown-origin' with the kernel's remaining time, and report. Removing
//    would silently unban something an operator (or a previous journal that
//    was lost) put there; adopting keeps the kernel's decision and makes it
//    visible and revocable.
import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import { banTargetOf } from '../respond/ban-target.ts';
import type { ActiveEntry, Responder } from '../respond/responder.ts';
import { decisionOf, isActive, type BanJournal, type JournalEntry } from './journal.ts';

export interface ReconcilePlan {
  readonly readd: ReadonlyArray<{ readonly entry: JournalEntry; readonly remainingMs: number | null }>;
  readonly retime: ReadonlyArray<{ readonly entry: JournalEntry; readonly kernelMs: number | undefined; readonly journalMs: number | null }>;
  readonly remove: ReadonlyArray<{ readonly kernel: ActiveEntry; readonly why: 'expired' | 'revoked' }>;
  readonly adopt: readonly ActiveEntry[];
  readonly inSync: number;
}

export interface PlanOptions {
  /** Kernel vs journal remaining time may differ this much before a re-add (default 60 s). */
  readonly toleranceMs?: number;
}

/** "198.18.0.11|sip", "198.18.0.11|all", "198.18.4.0/24|all" */
function kernelKey(elem: string, allPorts: boolean): string {
  return `${elem}|${allPorts ? 'all' : 'sip'}`;
}

function entryKey(e: JournalEntry): string | null {
  if (e.action !== 'ban-ip' || e.target.ip === undefined) return null;
  try {
    const t = banTargetOf(e);
    return kernelKey(t.elem, t.allPorts || !t.host);
  } catch {
    return null;
  }
}

export function planReconcile(entries: readonly JournalEntry[], kernel: readonly ActiveEntry[], now: number, opts: PlanOptions = {}): ReconcilePlan {
  const tol = opts.toleranceMs ?? 60_000;
  const kernelBy = new Map<string, ActiveEntry>();
  for (const k of kernel) if (k.ip !== undefined) kernelBy.set(kernelKey(k.ip, k.allPorts ?? false), k);

  // The newest active entry per key wins; older ones for the same key are moot.
  const activeBy = new Map<string, JournalEntry>();
  const endedBy = new Map<string, JournalEntry>();
  for (const e of entries) {
    const key = entryKey(e);
    if (key === null || e.dryRun) continue;
    const m = isActive(e, now) ? activeBy : endedBy;
    const prev = m.get(key);
    if (!prev || prev.time <= e.time) m.set(key, e);
  }

  const readd: Array<{ entry: JournalEntry; remainingMs: number | null }> = [];
  const retime: Array<{ entry: JournalEntry; kernelMs: number | undefined; journalMs: number | null }> = [];
  const remove: Array<{ kernel: ActiveEntry; why: 'expired' | 'revoked' }> = [];
  const adopt: ActiveEntry[] = [];
  let inSync = 0;

  for (const [key, e] of activeBy) {
    const journalMs = e.expiresAt === null ? null : e.expiresAt - now;
    const k = kernelBy.get(key);
    if (!k) {
      readd.push({ entry: e, remainingMs: journalMs });
      continue;
    }
    // A permanent ban lives in the kernel as a long timeout: leave it be.
    const off = journalMs !== null && k.remainingMs !== undefined && Math.abs(k.remainingMs - journalMs) > tol;
    if (off) retime.push({ entry: e, kernelMs: k.remainingMs, journalMs });
    else inSync++;
  }
  for (const [key, k] of kernelBy) {
    if (activeBy.has(key)) continue;
    const ended = endedBy.get(key);
    if (ended) remove.push({ kernel: k, why: ended.revokedAt !== undefined ? 'revoked' : 'expired' });
    else adopt.push(k);
  }
  return { readd, retime, remove, adopt, inSync };
}

export interface ReconcileReport {
  readonly readded: number;
  readonly retimed: number;
  readonly removed: number;
  readonly adopted: number;
  readonly inSync: number;
  readonly failures: ReadonlyArray<{ readonly ip: string; readonly error: string }>;
}

function adoptedDecision(k: ActiveEntry, now: number, seq: number): Decision {
  const ms = k.remainingMs ?? 0;
  return {
    id: `adopted-${now}-${seq}`,
    action: 'ban-ip',
    target: { ip: k.ip as string },
    rule: 'unknown-origin',
    reason: 'found in the kernel set at start-up, not in the journal',
    time: now,
    durationMs: ms,
    expiresAt: ms > 0 ? now + ms : Number.POSITIVE_INFINITY,
    offence: 0,
    allPorts: k.allPorts ?? false,
    evidence: { attempts: 0, events: 0, first: new Date(now).toISOString(), last: new Date(now).toISOString(), sampleAccounts: [], sampleIps: [] },
    dryRun: false,
  };
}

/** Carry out a plan. Failures are collected, not thrown: one bad entry must not stop start-up. */
export async function executeReconcile(plan: ReconcilePlan, responder: Responder, journal: BanJournal, now: number, logger?: Logger): Promise<ReconcileReport> {
  const failures: Array<{ ip: string; error: string }> = [];
  const run = async (ip: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (e) {
      failures.push({ ip, error: (e as Error).message });
      return false;
    }
  };
  // Submitted together, so a batching responder makes one kernel batch of them.
  const jobs: Array<Promise<boolean>> = [];
  for (const r of plan.readd) jobs.push(run(r.entry.target.ip ?? '', () => responder.apply(decisionOf(r.entry))));
  for (const r of plan.retime) jobs.push(run(r.entry.target.ip ?? '', () => responder.apply(decisionOf(r.entry))));
  for (const r of plan.remove) {
    const d: Decision = { ...adoptedDecision(r.kernel, now, 0), id: `reconcile-remove-${r.kernel.ip}` };
    jobs.push(run(r.kernel.ip ?? '', () => responder.revoke(d)));
  }
  const ok = await Promise.all(jobs);
  let seq = 0;
  for (const k of plan.adopt) journal.record(adoptedDecision(k, now, ++seq), 'unknown-origin');
  await journal.flush();
  const nReadd = plan.readd.length;
  const nRetime = plan.retime.length;
  const report: ReconcileReport = {
    readded: ok.slice(0, nReadd).filter(Boolean).length,
    retimed: ok.slice(nReadd, nReadd + nRetime).filter(Boolean).length,
    removed: ok.slice(nReadd + nRetime).filter(Boolean).length,
    adopted: plan.adopt.length,
    inSync: plan.inSync,
    failures,
  };
  if (plan.adopt.length > 0) {
    logger?.warn({ drift: plan.adopt.map((k) => k.ip) }, `reconcile: ${plan.adopt.length} kernel ban(s) not in the journal, adopted as unknown-origin`);
  }
  logger?.info({ ...report, failures: failures.length }, 'reconcile done');
  return report;
}

/** Plan and execute in one go, for start-up. */
export async function reconcileOnStart(responder: Responder, journal: BanJournal, now: number, logger?: Logger, opts?: PlanOptions): Promise<ReconcileReport> {
  const kernel = responder.reconcile ? await responder.reconcile() : [];
  const plan = planReconcile(journal.all(), kernel, now, opts);
  return executeReconcile(plan, responder, journal, now, logger);
}
