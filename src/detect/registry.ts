import type { Observable, SchedulerLike } from 'rxjs';
import type { Alert, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import type { RuleState } from './key-state.ts';
import { createRuleEngine } from './detector.ts';

/**
 * Keeps each rule's per-key state across config reloads: a rule that keeps
 * its id, kind and grouping keeps its windows, so SIGHUP forgets nothing.
 */
export class DetectorRegistry {
  private readonly states = new Map<string, RuleState>();

  stateFor(rule: DetectionRule): RuleState {
    const key = `${rule.id}\u0000${rule.kind}\u0000${rule.groupBy}\u0000${rule.distinct ?? ''}`;
    let s = this.states.get(key);
    if (!s) this.states.set(key, (s = new Map()));
    return s;
  }

  /** All rules as one alert stream. */
  detect(rules: readonly DetectionRule[], events$: Observable<SecurityEvent>, opts: { scheduler?: SchedulerLike; onError?: (err: unknown, rule: string) => void; maxKeys?: number } = {}): Observable<Alert> {
    const live = new Set<RuleState>();
    for (const r of rules) live.add(this.stateFor(r));
    // Rules removed by a reload give their memory back.
    for (const [k, s] of this.states) if (!live.has(s)) this.states.delete(k);
    return createRuleEngine(rules, { ...opts, stateFor: (r) => this.stateFor(r) })(events$);
  }

  /** Keys held across all rules (for metrics and the memory bench). */
  get keys(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.size;
    return n;
  }
}
