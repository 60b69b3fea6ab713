import type { SecurityEvent } from '../../domain/types.ts';
import type { DetectionRule } from '../rule.ts';
import type { RuleColumns } from '../rule-columns.ts';

/**
 * Sliding-window counter: N counted items within the window. Only the latest
 * `threshold` stamps are kept, which is all the decision needs.
 */
export function countThreshold(rule: DetectionRule, c: RuleColumns, slot: number, ev: SecurityEvent): number {
  if (rule.count !== 'events' && !ev.attempt) return c.stamps.countOf(slot);
  return c.stamps.add(slot, ev.time, ev.time - rule.windowMs, rule.threshold);
}
