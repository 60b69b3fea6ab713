// The rule engine as it was before key tables and columns: one Map of
// per-key objects per rule. Kept only as the reference the fast engine is
// checked against (test/unit/resilience/hot-path-equivalence.test.ts). No
// key cap and no idle sweep: expiry on access gives the same alerts.
import { FAILURE_TYPES } from '../../src/domain/types.ts';
import type { Alert, SecurityEvent } from '../../src/domain/types.ts';
import type { DetectionRule } from '../../src/detect/rule.ts';
import { groupKey } from '../../src/detect/group-key.ts';

interface KeyState {
  stamps: number[];
  values: Map<string, number> | undefined;
  events: number;
  attempts: number;
  first: number;
  last: number;
  accounts: string[];
  ips: string[];
  quietUntil: number;
}

function addSample(list: string[], value: string): void {
  if (list.length < 5 && !list.includes(value)) list.push(value);
}

function count(rule: DetectionRule, st: KeyState, ev: SecurityEvent): number {
  if (rule.kind === 'distinct') {
    const value = rule.distinct === 'ip' ? ev.remote.ip : ev.account;
    const values = (st.values ??= new Map());
    values.set(value, ev.time);
    for (const [v, t] of values) if (t <= ev.time - rule.windowMs) values.delete(v);
    return values.size;
  }
  if (rule.count !== 'events' && !ev.attempt) return st.stamps.length;
  st.stamps.push(ev.time);
  while (st.stamps.length && st.stamps[0]! <= ev.time - rule.windowMs) st.stamps.shift();
  while (st.stamps.length > rule.threshold) st.stamps.shift();
  return st.stamps.length;
}

function matches(rule: DetectionRule, ev: SecurityEvent): boolean {
  const m = rule.match;
  return (
    (!m.types || m.types.includes(ev.type)) &&
    (!m.failures || FAILURE_TYPES.has(ev.type)) &&
    (!m.services || m.services.includes(ev.service)) &&
    (!m.notServices || !m.notServices.includes(ev.service))
  );
}

/** Alerts of `rules` over `events`, in order (rules in config order per event). */
export function referenceAlerts(rules: readonly DetectionRule[], events: readonly SecurityEvent[]): Alert[] {
  const states = rules.map(() => new Map<string, KeyState>());
  const out: Alert[] = [];
  for (const ev of events) {
    rules.forEach((rule, i) => {
      if (!matches(rule, ev)) return;
      const state = states[i]!;
      const key = groupKey(ev, rule.groupBy, rule.prefixV4, rule.prefixV6);
      let st = state.get(key);
      if (st === undefined || st.last < ev.time - rule.windowMs) {
        st = { stamps: [], values: undefined, events: 0, attempts: 0, first: ev.time, last: ev.time, accounts: [], ips: [], quietUntil: 0 };
        state.set(key, st);
      }
      st.events++;
      if (ev.attempt) st.attempts++;
      st.last = ev.time;
      addSample(st.accounts, ev.account);
      if (rule.groupBy !== 'ip') addSample(st.ips, ev.remote.ip);
      if (ev.time < st.quietUntil) return;
      const n = count(rule, st, ev);
      if (n < rule.threshold) return;
      const what = rule.kind === 'distinct' ? `${n} distinct ${rule.distinct === 'ip' ? 'source IPs' : 'accounts'}` : `${n} ${rule.count === 'events' ? 'requests' : 'failed attempts'}`;
      out.push({
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
      });
      st.quietUntil = ev.time + rule.windowMs;
      st.stamps = [];
      st.values = undefined;
    });
  }
  return out;
}
