import { Observable, merge } from 'rxjs';
import type { TollRule, TollAction, TollScope } from './config.ts';
import type { CallFact, TrackedCall } from './tracker.ts';

/** A toll-fraud limit was exceeded. `excess` are the calls beyond the limit (newest first). */
export interface TollAlert {
  readonly rule: string;
  readonly kind: TollRule['kind'];
  readonly scope: TollScope;
  readonly key: string;
  readonly action: TollAction;
  readonly time: number;
  readonly reason: string;
  /** Calls counted (in progress for concurrent, started in the window for rate). */
  readonly count: number;
  readonly limit: number;
  /** The call that crossed the limit. */
  readonly call: TrackedCall;
  readonly excess: readonly TrackedCall[];
  /** Time of the first counted call. */
  readonly first: number;
}

export type TollDetector = (facts$: Observable<CallFact>) => Observable<TollAlert>;
/** A kind folds one fact into a key's state and says whether (and how) the limit is crossed. */
type KindState = { calls: Map<string, TrackedCall>; stamps: number[]; last: number };

function keyOf(scope: TollScope, call: TrackedCall): string | null {
  if (scope === 'global') return '*';
  if (scope === 'ip') return call.ip ?? null;
  return call.account;
}

const SCOPE_WORD: Record<TollScope, string> = { account: 'account', ip: 'source', global: 'the PBX' };

/**
 * Pure detector of one toll rule over call facts. Windows run on event time,
 * so a replay gives what the live run gave. Emergency calls never count.
 */
export function createTollDetector(rule: TollRule): TollDetector {
  const classes = new Set<string>(rule.classes);
  return (facts$) =>
    new Observable<TollAlert>((sub) => {
      const state = new Map<string, KindState>();
      let lastSweep = 0;
      const sweep = (now: number): void => {
        for (const [k, st] of state) if (st.calls.size === 0 && st.last < now - rule.windowMs) state.delete(k);
        lastSweep = now;
      };
      return facts$.subscribe({
        next(f) {
          if (f.type === 'reset') {
            for (const st of state.values()) st.calls.clear();
            return;
          }
          const call = f.call;
          if (call.dest.class === 'emergency' || !classes.has(call.dest.class)) return;
          const key = keyOf(rule.scope, call);
          if (key === null) return;
          if (f.time - lastSweep > Math.max(rule.windowMs, 60_000)) sweep(f.time);
          let st = state.get(key);
          if (f.type === 'end') {
            st?.calls.delete(call.uniqueId);
            return;
          }
          if (!st) state.set(key, (st = { calls: new Map(), stamps: [], last: f.time }));
          st.last = f.time;
          st.calls.set(call.uniqueId, call);
          const limit = call.suspect !== undefined ? rule.suspectMax : rule.max;
          let count: number;
          let first: number;
          let excess: TrackedCall[];
          if (rule.kind === 'concurrent') {
            count = st.calls.size;
            if (count <= limit) return;
            const up = [...st.calls.values()];
            first = up[0]!.startedAt;
            excess = up.slice(limit).reverse();
          } else {
            if (f.type !== 'start') return; // calls learnt after a reconnect were counted (or not) before
            st.stamps.push(f.time);
            const horizon = f.time - rule.windowMs;
            while (st.stamps.length && st.stamps[0]! <= horizon) st.stamps.shift();
            // Only limit+1 stamps matter; keep memory flat under a flood.
            if (st.stamps.length > limit + 1) st.stamps.splice(0, st.stamps.length - limit - 1);
            count = st.stamps.length;
            if (count <= limit) return;
            first = st.stamps[0]!;
            excess = [call];
          }
          const what = rule.kind === 'concurrent' ? `${count} ${label(rule)} calls up at once` : `${label(rule)} call ${count} within ${fmt(rule.windowMs)}`;
          const tight = call.suspect !== undefined && limit < rule.max ? ` (tightened: ${call.suspect})` : '';
          sub.next({
            rule: rule.id,
            kind: rule.kind,
            scope: rule.scope,
            key,
            action: rule.action,
            time: f.time,
            reason: `${what} from ${SCOPE_WORD[rule.scope]}${rule.scope === 'global' ? '' : ` ${key}`}, limit ${limit}${tight}`,
            count,
            limit,
            call,
            excess,
            first,
          });
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      });
    });
}

/** Every rule as one alert stream. */
export function tollDetectors(rules: readonly TollRule[]): TollDetector {
  return (facts$) => merge(...rules.map((r) => createTollDetector(r)(facts$)));
}

function label(rule: TollRule): string {
  const c = rule.classes;
  if (c.length === 1) return c[0]!;
  if (c.length === 2 && c.includes('international') && c.includes('premium')) return 'international';
  return 'outbound';
}

function fmt(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
