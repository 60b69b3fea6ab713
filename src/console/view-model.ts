import type { Subscription } from 'rxjs';
import type { Alert, Decision, DomainEvent } from '../domain/types.ts';
import { FAILURE_TYPES } from '../domain/types.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

/** Counts per key, bounded: under a spoofed flood the smallest counts go first. */
export class TopCounter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly cap = 2000) {}
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (this.counts.size > this.cap) this.prune();
  }
  private prune(): void {
    const sorted = [...this.counts].sort((a, b) => a[1] - b[1]);
    for (const [k] of sorted.slice(0, sorted.length - Math.floor(this.cap / 2))) this.counts.delete(k);
  }
  top(n: number): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
  get size(): number {
    return this.counts.size;
  }
}

export interface Panel {
  readonly title: string;
  lines(): string[];
}

/** What the live console shows, fed from the pipeline's streams. */
export class ViewModel {
  connection = 'starting';
  mode = 'enforce';
  connectionDetail = '';
  events = 0;
  failures = 0;
  readonly bySource = new TopCounter();
  readonly byAccount = new TopCounter();
  readonly latest: Array<{ decision: Decision } | { alert: Alert; note: string }> = [];
  /** Extra panels: scanner drops, calls in progress... */
  readonly panels: Panel[] = [];
  private rateMark = { t: Date.now(), n: 0 };
  rate = 0;
  private subs: Subscription[] = [];

  constructor(readonly pipeline: Pipeline) {
    this.subs.push(
      pipeline.events$.subscribe((e) => this.onEvent(e)),
      pipeline.decisions$.subscribe((d) => this.push({ decision: d })),
      pipeline.suppressed$.subscribe((s) => this.push({ alert: s.alert, note: s.why })),
    );
  }

  private onEvent(e: DomainEvent): void {
    this.events++;
    if (e.kind === 'security' && e.attempt && FAILURE_TYPES.has(e.type)) {
      this.failures++;
      this.bySource.add(e.remote.ip);
      this.byAccount.add(e.account);
    }
  }

  private push(item: ViewModel['latest'][number]): void {
    this.latest.unshift(item);
    if (this.latest.length > 10) this.latest.pop();
  }

  /** Events/s since the last call (the renderer calls it once per frame). */
  tick(now = Date.now()): void {
    const dt = now - this.rateMark.t;
    if (dt >= 1000) {
      this.rate = Math.round(((this.events - this.rateMark.n) * 1000) / dt);
      this.rateMark = { t: now, n: this.events };
    }
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}
