import type { Decision } from '../domain/types.ts';
import type { Panel } from '../console/view-model.ts';
import { escapeText } from '../console/escape.ts';
import type { CallTracker } from './tracker.ts';
import type { ResponsePlanner } from './respond.ts';

const INTL = new Set(['international', 'premium']);

/** Console panel: calls in progress and per-account international counters, blocks with their reason. */
export class TollFraudPanel implements Panel {
  readonly title = 'Calls / toll fraud';
  /** Account -> international calls started (event times), last hour. */
  private readonly intlStarts = new Map<string, number[]>();
  private readonly recent: Decision[] = [];

  constructor(
    private readonly tracker: CallTracker,
    private readonly planner: ResponsePlanner,
    private readonly clock: () => number = Date.now,
  ) {}

  noteStart(account: string, cls: string, time: number): void {
    if (!INTL.has(cls)) return;
    const l = this.intlStarts.get(account) ?? [];
    l.push(time);
    while (l.length && l[0]! < time - 3_600_000) l.shift();
    if (l.length > 1000) l.splice(0, l.length - 1000);
    this.intlStarts.set(account, l);
    if (this.intlStarts.size > 500) this.intlStarts.delete(this.intlStarts.keys().next().value!);
  }

  noteDecision(d: Decision): void {
    this.recent.unshift(d);
    if (this.recent.length > 5) this.recent.pop();
  }

  lines(): string[] {
    const calls = this.tracker.list();
    const intl = calls.filter((c) => INTL.has(c.dest.class)).length;
    const out = [`calls in progress: ${calls.length} (international ${intl})`];
    const accounts = new Set([...this.tracker.byAccount().keys(), ...this.intlStarts.keys()]);
    const now = this.clock();
    const rows = [...accounts].map((a) => {
      const up = this.tracker.callsOf(a);
      const upIntl = up.filter((c) => INTL.has(c.dest.class)).length;
      const started = (this.intlStarts.get(a) ?? []).filter((t) => t > (up[up.length - 1]?.startedAt ?? now) - 3_600_000).length;
      const ips = [...new Set(up.map((c) => c.ip).filter((x): x is string => x !== undefined))];
      return { a, up: up.length, upIntl, started, ips, suspect: this.tracker.suspectWhy(a, up[up.length - 1]?.startedAt ?? now) };
    });
    rows.sort((x, y) => y.upIntl - x.upIntl || y.started - x.started);
    for (const r of rows.slice(0, 8)) {
      out.push(
        `  ${escapeText(r.a, 24).padEnd(12)} up ${r.up}  intl up ${r.upIntl}  intl started/1h ${r.started}${r.ips.length ? `  from ${r.ips.slice(0, 2).join(',')}` : ''}${r.suspect ? `  SUSPECT: ${escapeText(r.suspect, 60)}` : ''}`,
      );
    }
    for (const b of this.planner.activeBlocks(now)) {
      out.push(`  blocked ${escapeText(b.account, 24)}: ${b.accountUntil > now ? 'account' : 'international'} until ${new Date(Math.max(b.accountUntil, b.intlUntil)).toISOString().slice(11, 19)}`);
    }
    for (const d of this.recent) {
      const who = d.target.channel ?? d.target.account ?? d.target.ip ?? '';
      out.push(`  ${d.action} ${escapeText(who, 40)}: ${escapeText(d.reason, 140)}`);
    }
    return out;
  }
}
