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
  if (stamps === undefined) stamps = n === 1 ? [c.stamp[slot]!, now] : [now];
  else stamps.push(now);
  let drop = 0;
  while (drop < stamps.length && stamps[drop]! <= horizon) drop++;
  if (stamps.length - drop > rule.threshold) drop = stamps.length - rule.threshold;
  if (drop > 0) {
    // In place: splice() would allocate an array of the removed stamps.
    stamps.copyWithin(0, drop);
    stamps.length -= drop;
  }
  const left = stamps.length;
  c.stampCount[slot] = left;
  if (left === 1) c.stamp[slot] = stamps[0]!;
  c.stamps[slot] = left > 1 ? stamps : undefined;
  return left;
}
