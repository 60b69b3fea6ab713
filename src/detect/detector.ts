import { Observable, asyncScheduler, interval, type SchedulerLike } from 'rxjs';
import { FAILURE_TYPES } from '../domain/types.ts';
import type { Alert, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import { groupKey } from './group-key.ts';
import { newKeyState, withSample, type KeyState, type RuleState } from './key-state.ts';
import { countThreshold } from './kinds/threshold.ts';
import { countDistinct } from './kinds/distinct.ts';

export type Detector = (events$: Observable<SecurityEvent>) => Observable<Alert>;

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
 * Builds the pure detector `(events$) => alerts$` of one rule. Windows run on
 * event time, so a replay gives the same alerts as the live run did; only the
 * idle sweep uses the scheduler, to free keys while nothing arrives.
 */
export function createDetector(rule: DetectionRule, opts: DetectorOptions = {}): Detector {
  const kind = KINDS[rule.kind];
  const matches = matcher(rule);
  const scheduler = opts.scheduler ?? asyncScheduler;
  const sweepMs = opts.sweepMs ?? Math.max(1000, Math.min(rule.windowMs, 30_000));
  return (events$) =>
    new Observable<Alert>((sub) => {
      const state: RuleState = opts.state ?? new Map();
      let lastTime = 0;
      let lastArrival = scheduler.now();
      let lastSweep = 0;
      const sweep = (now: number): void => {
        const horizon = now - rule.windowMs;
        for (const [key, st] of state) if (st.last < horizon && st.quietUntil <= now) state.delete(key);
        lastSweep = now;
      };
      const events = events$.subscribe({
        next(ev) {
          try {
            if (!matches(ev)) return;
            const now = ev.time;
            if (now > lastTime) lastTime = now;
            lastArrival = scheduler.now();
            if (now - lastSweep > sweepMs) sweep(now);
            const key = groupKey(ev, rule.groupBy, rule.prefixV4, rule.prefixV6);
            let st = state.get(key);
            if (st === undefined || st.last < now - rule.windowMs) {
              st = newKeyState(now);
              state.set(key, st);
            }
            st.events++;
            if (ev.attempt) st.attempts++;
            st.last = now;
            st.accounts = withSample(st.accounts, ev.account);
            st.ips = withSample(st.ips, ev.remote.ip);
            // Already fired for this key: the decision is made, counting again would only cost.
            if (now < st.quietUntil) return;
            const count = kind(rule, st, ev);
            if (count >= rule.threshold) {
              sub.next(alertOf(rule, key, st, count, ev));
              // Fired: start over, and stay quiet for one window (the policy owns the ban length).
              st.quietUntil = now + rule.windowMs;
              st.stamps = [];
              st.values = undefined;
            }
          } catch (err) {
            opts.onError?.(err, rule.id);
          }
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
      const idle = interval(sweepMs, scheduler).subscribe(() => {
        if (lastTime) sweep(lastTime + (scheduler.now() - lastArrival));
      });
      return () => {
        events.unsubscribe();
        idle.unsubscribe();
      };
    });
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
      sampleIps: [...st.ips],
      service: ev.service,
    },
    ...(rule.allPorts ? { allPorts: true } : {}),
  };
}
