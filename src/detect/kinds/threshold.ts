import type { SecurityEvent } from '../../domain/types.ts';
import type { DetectionRule } from '../rule.ts';
import type { KeyState } from '../key-state.ts';

/**
 * Sliding-window counter: N counted items within the window. Only the latest
 * `threshold` stamps are kept, which is all the decision needs.
 */
export function countThreshold(rule: DetectionRule, st: KeyState, ev: SecurityEvent): number {
  if (rule.count !== 'events' && !ev.attempt) return st.stamps.length;
  // A first stamp gets an array of its own size (push onto [] reserves 17 slots): most keys of a flood see one event.
  if (st.stamps.length === 0) st.stamps = [ev.time];
  else st.stamps.push(ev.time);
  const stamps = st.stamps;
  const horizon = ev.time - rule.windowMs;
  let drop = 0;
  while (drop < stamps.length && stamps[drop]! <= horizon) drop++;
  if (stamps.length - drop > rule.threshold) drop = stamps.length - rule.threshold;
  if (drop > 0) {
    // In place: splice() would allocate an array of the removed stamps.
    stamps.copyWithin(0, drop);
    stamps.length -= drop;
  }
  return stamps.length;
}
