import type { Observable, SchedulerLike } from 'rxjs';
import type { Alert, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import { KeyTable } from './key-table.ts';
import { columnsOf, type RuleColumns } from './rule-columns.ts';
import { createRuleEngine } from './detector.ts';
import { groupId } from './group-key.ts';
import type { Bans } from './banned-keys.ts';

/**
 * Keeps the key tables and each rule's columns across config reloads: a rule
 * that keeps its id, kind and grouping keeps its windows, so SIGHUP forgets
 * nothing.
 */
export class DetectorRegistry {
  private readonly tables = new Map<string, KeyTable>();
  private readonly columns = new Map<string, { table: KeyTable; cols: RuleColumns }>();

  tableFor(rule: DetectionRule): KeyTable {
    const id = groupId(rule);
    let t = this.tables.get(id);
    if (!t) this.tables.set(id, (t = new KeyTable()));
    return t;
  }

  columnsFor(rule: DetectionRule, table: KeyTable): RuleColumns {
    const id = `${rule.id}\u0000${rule.kind}\u0000${groupId(rule)}\u0000${rule.distinct ?? ''}`;
    let c = this.columns.get(id);
    if (c === undefined || c.table !== table) {
      c = { table, cols: columnsOf(rule) };
      table.attach(c.cols);
      this.columns.set(id, c);
    }
    return c.cols;
  }

  /** All rules as one alert stream. */
  detect(rules: readonly DetectionRule[], events$: Observable<SecurityEvent>, opts: { scheduler?: SchedulerLike; onError?: (err: unknown, rule: string) => void; maxKeys?: number; bans?: Bans } = {}): Observable<Alert> {
    const live = new Set<RuleColumns>();
    for (const r of rules) live.add(this.columnsFor(r, this.tableFor(r)));
    // Rules removed by a reload give their memory back, and so do groupings no rule uses.
    for (const [id, c] of this.columns) {
      if (live.has(c.cols)) continue;
      c.table.detach(c.cols);
      this.columns.delete(id);
    }
    for (const [id, t] of this.tables) if (t.attached === 0) this.tables.delete(id);
    return createRuleEngine(rules, { ...opts, tableFor: (r) => this.tableFor(r), columnsFor: (r, t) => this.columnsFor(r, t) })(events$);
  }

  /** Keys held across all groupings (for metrics and the memory bench). */
  get keys(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }
}
