import type { SecurityEvent } from '../../domain/types.ts';
import type { DetectionRule } from '../rule.ts';
import type { KeyState } from '../key-state.ts';

/**
 * Distinct values within the window: accounts per source (extension scan),
 * sources per account (password spraying), sources per subnet.
 */
export function countDistinct(rule: DetectionRule, st: KeyState, ev: SecurityEvent): number {
  const value = rule.distinct === 'ip' ? ev.remote.ip : ev.account;
  const values = (st.values ??= new Map());
  values.set(value, ev.time);
  const horizon = ev.time - rule.windowMs;
  for (const [v, t] of values) if (t <= horizon) values.delete(v);
  return values.size;
}
