import type { SecurityEvent } from '../../domain/types.ts';
import type { DetectionRule } from '../rule.ts';
import type { RuleColumns } from '../rule-columns.ts';

/**
 * Sliding-window counter: N counted items within the window. Only the latest
 * `threshold` stamps are kept, which is all the decision needs. The first
 * stamp is held inline: most keys of a flood see one event.
 */
export function countThreshold(rule: DetectionRule, c: RuleColumns, slot: number, ev: SecurityEvent): number {
  const n = c.stampCount[slot]!;
  if (rule.count !== 'events' && !ev.attempt) return n;
  const now = ev.time;
  const horizon = now - rule.windowMs;
  if (n === 0 && now > horizon) {
    c.stamp[slot] = now;
    c.stampCount[slot] = 1;
    return 1;
  }
  let stamps = c.stamps[slot];
  let head = 0;
  if (stamps === undefined) stamps = n === 1 ? [c.stamp[slot]!, now] : [now];
  else {
    stamps.push(now);
    head = c.stampHead[slot]!;
  }
  // Expired stamps and those beyond the threshold are dropped by moving the head: no copy per event.
  const len = stamps.length;
  while (head < len && stamps[head]! <= horizon) head++;
  if (len - head > rule.threshold) head = len - rule.threshold;
  const left = len - head;
  c.stampCount[slot] = left;
  if (left > 1) {
    // Compacted once the dead part is the larger one: amortised O(1), the list at most twice its live part (or 8 more).
    if (head > 8 && head * 2 > len) {
      stamps.copyWithin(0, head);
      stamps.length = left;
      head = 0;
    }
    c.stamps[slot] = stamps;
    c.stampHead[slot] = head;
  } else {
    if (left === 1) c.stamp[slot] = stamps[len - 1]!;
    c.stamps[slot] = undefined;
    c.stampHead[slot] = 0;
  }
  return left;
}
