import type { SecurityEvent } from '../../domain/types.ts';
import type { DetectionRule } from '../rule.ts';
import type { RuleColumns } from '../rule-columns.ts';
import { TIME_CELLS, VALUE_TIME } from '../slot-record.ts';

/**
 * Distinct values within the window: accounts per source (extension scan),
 * sources per account (password spraying), sources per subnet. One value is
 * held inline; a Map is made from the second distinct value on.
 */
export function countDistinct(rule: DetectionRule, c: RuleColumns, slot: number, ev: SecurityEvent): number {
  const value = rule.distinct === 'ip' ? ev.remote.ip : ev.account;
  const now = ev.time;
  const horizon = now - rule.windowMs;
  let values = c.values[slot];
  if (values === undefined) {
    const t = slot * TIME_CELLS + VALUE_TIME;
    const only = c.value[slot];
    if (only === undefined || only === value || c.times[t]! <= horizon) {
      if (now <= horizon) {
        c.value[slot] = undefined;
        return 0;
      }
      c.value[slot] = value;
      c.times[t] = now;
      return 1;
    }
    values = new Map([[only, c.times[t]!]]);
    c.values[slot] = values;
    c.value[slot] = undefined;
  }
  values.set(value, now);
  for (const [v, t] of values) if (t <= horizon) values.delete(v);
  return values.size;
}
