import type { ActionKind, GroupBy, SecurityEventType } from '../domain/types.ts';

/** Detection rules are data (config JSON); their kinds are code (detect/kinds/). */
export interface RuleMatch {
  /** Only these event types (default: any). */
  readonly types?: readonly SecurityEventType[];
  /** Only failures (FAILURE_TYPES). */
  readonly failures?: boolean;
  readonly services?: readonly string[];
  readonly notServices?: readonly string[];
}

export interface DetectionRule {
  readonly id: string;
  readonly description?: string;
  readonly enabled?: boolean;
  /** threshold: N counted items in the window; distinct: N distinct values of `distinct`. */
  readonly kind: 'threshold' | 'distinct';
  readonly match: RuleMatch;
  readonly groupBy: GroupBy;
  /** For groupBy subnet. */
  readonly prefixV4?: number;
  readonly prefixV6?: number;
  /** threshold kind: count attempts (retransmits folded) or every event frame. */
  readonly count?: 'attempts' | 'events';
  readonly distinct?: 'account' | 'ip';
  readonly windowMs: number;
  readonly threshold: number;
  readonly action: ActionKind;
  /** Ban every port, not only SIP. */
  readonly allPorts?: boolean;
}
