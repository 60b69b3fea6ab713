import { Observable, asyncScheduler, interval, type SchedulerLike } from 'rxjs';
import { FAILURE_TYPES } from '../domain/types.ts';
import type { Alert, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import { groupKey } from './group-key.ts';
import { NONE, newKeyState, withSample, type KeyState, type RuleState } from './key-state.ts';
import { countThreshold } from './kinds/threshold.ts';
import { countDistinct } from './kinds/distinct.ts';

export type Detector = (events$: Observable<SecurityEvent>) => Observable<Alert>;

/** Default bound on the keys one rule tracks (see DetectorOptions.maxKeys). */
export const DEFAULT_MAX_KEYS = 100_000;
/** Hits after which a key is no longer moved to the back (it has long crossed any threshold). */
const REFRESH_UNTIL = 64;

/**
 * Forgets the least recently active tenth of the keys in one pass: evicting
 * one key per insert would walk the deleted slots at the front of the Map
 * again and again.
 */
function evictOldest(state: RuleState): void {
  let n = Math.max(1, Math.floor(state.size / 10));
  for (const key of state.keys()) {
    state.delete(key);
    if (--n === 0) return;
  }
}

/** A kind folds one event into a key's state and returns the count to compare with the threshold. */
export type Kind = (rule: DetectionRule, st: KeyState, ev: SecurityEvent) => number;

const KINDS: Record<DetectionRule['kind'], Kind> = {
  threshold: countThreshold,
  distinct: countDistinct,
};

export interface DetectorOptions {
  readonly scheduler?: SchedulerLike;
  /** Reuse state across reloads (see detect/registry.ts). */
  readonly state?: RuleState;
  /** How often idle keys are expired when the stream is quiet. */
  readonly sweepMs?: number;
  /**
   * Most keys one rule tracks. Past it the least recently active key is
   * forgotten: memory stays bounded under millions of spoofed sources, and a
   * real attacker, whose key is refreshed on every attempt, stays tracked.
   */
  readonly maxKeys?: number;
  /** Called when handling one event throws: the detector keeps going. */
  readonly onError?: (err: unknown, rule: string) => void;
}

export function matcher(rule: DetectionRule): (ev: SecurityEvent) => boolean {
  const m = rule.match;
  const types = m.types ? new Set<string>(m.types) : null;
  const services = m.services ? new Set(m.services) : null;
  const notServices = m.notServices ? new Set(m.notServices) : null;
  const failures = m.failures === true;
  return (ev) =>
    (types === null || types.has(ev.type)) &&
    (!failures || FAILURE_TYPES.has(ev.type)) &&
    (services === null || services.has(ev.service)) &&
    (notServices === null || !notServices.has(ev.service));
}

/**
 * One rule's windows: folds matching events into per-key state and says
 * when the threshold is crossed. Windows run on event time, so a replay gives
 * the same alerts as the live run did.
 */
class RuleRunner {
  readonly matches: (ev: SecurityEvent) => boolean;
  private readonly kind: Kind;
  private readonly trackIps: boolean;
  private lastSweep = 0;

  constructor(
    readonly rule: DetectionRule,
    readonly state: RuleState,
    private readonly maxKeys: number,
    readonly sweepMs: number,
  ) {
    this.kind = KINDS[rule.kind];
    this.matches = matcher(rule);
    this.trackIps = rule.groupBy !== 'ip';
  }

  /** An event the rule matches; returns the alert when it fires. */
  onEvent(ev: SecurityEvent): Alert | undefined {
    const rule = this.rule;
    const state = this.state;
    const now = ev.time;
    if (now - this.lastSweep > this.sweepMs) this.sweep(now);
    const key = groupKey(ev, rule.groupBy, rule.prefixV4, rule.prefixV6);
    let st = state.get(key);
    if (st === undefined || st.last < now - rule.windowMs) {
      if (st !== undefined) state.delete(key);
      else if (state.size >= this.maxKeys) evictOldest(state);
      st = newKeyState(now);
      state.set(key, st);
    } else if (st.events < REFRESH_UNTIL && state.size > this.maxKeys >>> 1) {
      // Least recently active last: re-insert on each hit once eviction is near (and
      // while the key is young: a key this busy has fired already, or will soon).
      state.delete(key);
      state.set(key, st);
    }
    st.events++;
    if (ev.attempt) st.attempts++;
    st.last = now;
    st.accounts = withSample(st.accounts, ev.account);
    if (this.trackIps) st.ips = withSample(st.ips, ev.remote.ip);
    // Already fired for this key: the decision is made, counting again would only cost.
    if (now < st.quietUntil) return undefined;
    const count = this.kind(rule, st, ev);
    if (count < rule.threshold) return undefined;
    const alert = alertOf(rule, key, st, count, ev);
    // Fired: start over, and stay quiet for one window (the policy owns the ban length).
    st.quietUntil = now + rule.windowMs;
    st.stamps = NONE;
    st.values = undefined;
    return alert;
  }

  sweep(now: number): void {
    const horizon = now - this.rule.windowMs;
    for (const [key, st] of this.state) if (st.last < horizon && st.quietUntil <= now) this.state.delete(key);
    this.lastSweep = now;
  }
}

export interface EngineOptions extends Omit<DetectorOptions, 'state'> {
  /** Each rule's state, kept across reloads (see detect/registry.ts). */
  readonly stateFor?: (rule: DetectionRule) => RuleState;
}

/**
 * The pure detector `(events$) => alerts$` of a set of rules: one
 * subscription for all of them, and each event type/service pair is matched
 * against the rules once, then looked up. Only the idle sweep uses the
 * scheduler, to free keys while nothing arrives.
 */
export function createRuleEngine(rules: readonly DetectionRule[], opts: EngineOptions = {}): Detector {
  const scheduler = opts.scheduler ?? asyncScheduler;
  return (events$) =>
    new Observable<Alert>((sub) => {
      const runners = rules.map(
        (r) => new RuleRunner(r, opts.stateFor?.(r) ?? new Map(), opts.maxKeys ?? DEFAULT_MAX_KEYS, opts.sweepMs ?? Math.max(1000, Math.min(r.windowMs, 30_000))),
      );
      // type + service -> the rules that can match it (attempt flags do not matter to matchers).
      const routes = new Map<string, RuleRunner[]>();
      const route = (ev: SecurityEvent): RuleRunner[] => {
        const k = `${ev.type}\u0000${ev.service}`;
        let rs = routes.get(k);
        if (rs === undefined) {
          rs = runners.filter((r) => r.matches(ev));
          if (routes.size < 1024) routes.set(k, rs);
        }
        return rs;
      };
      let lastTime = 0;
      const events = events$.subscribe({
        next(ev) {
          if (ev.time > lastTime) lastTime = ev.time;
          let rs: RuleRunner[];
          try {
            rs = route(ev);
          } catch (err) {
            opts.onError?.(err, '*');
            return;
          }
          for (let i = 0; i < rs.length; i++) {
            const r = rs[i]!;
            try {
              const alert = r.onEvent(ev);
              if (alert !== undefined) sub.next(alert);
            } catch (err) {
              // One bad event costs its own alert, never the detector.
              opts.onError?.(err, r.rule.id);
            }
          }
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
      // Idle sweep without a clock read per event: while no event arrives, event time
      // is taken to advance with the scheduler, one sweep period per tick.
      const tickMs = Math.min(...runners.map((r) => r.sweepMs), 30_000);
      let seenAtTick = 0;
      let quietMs = 0;
      const idle = interval(tickMs, scheduler).subscribe(() => {
        if (!lastTime) return;
        if (lastTime === seenAtTick) quietMs += tickMs;
        else {
          seenAtTick = lastTime;
          quietMs = 0;
        }
        for (const r of runners) r.sweep(lastTime + quietMs);
      });
      return () => {
        events.unsubscribe();
        idle.unsubscribe();
      };
    });
}

/** The detector of one rule (the engine with a single rule). */
export function createDetector(rule: DetectionRule, opts: DetectorOptions = {}): Detector {
  const { state, ...rest } = opts;
  return createRuleEngine([rule], { ...rest, ...(state ? { stateFor: () => state } : {}) });
}

function alertOf(rule: DetectionRule, key: string, st: KeyState, count: number, ev: SecurityEvent): Alert {
  const what = rule.kind === 'distinct' ? `${count} distinct ${rule.distinct === 'ip' ? 'source IPs' : 'accounts'}` : `${count} ${rule.count === 'events' ? 'requests' : 'failed attempts'}`;
  return {
    rule: rule.id,
    kind: rule.kind,
    key,
    groupBy: rule.groupBy,
    action: rule.action,
    time: ev.time,
    reason: `${what} from ${rule.groupBy} ${key} within ${Math.round(rule.windowMs / 1000)}s (threshold ${rule.threshold})`,
    evidence: {
      attempts: st.attempts,
      events: st.events,
      first: new Date(st.first).toISOString(),
      last: new Date(st.last).toISOString(),
      sampleAccounts: [...st.accounts],
      sampleIps: rule.groupBy === 'ip' ? [key] : [...st.ips],
      service: ev.service,
    },
    ...(rule.allPorts ? { allPorts: true } : {}),
  };
}
