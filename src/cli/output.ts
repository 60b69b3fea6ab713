import { escapeText, safeJson } from '../console/escape.ts';
import type { Decision } from '../domain/types.ts';
import { formatDuration } from '../config/duration.ts';

/** The `--json` line of a decision: stable field names, untrusted text escaped. */
export function decisionJson(d: Decision): string {
  return safeJson({
    type: 'decision',
    action: d.action,
    target: d.target,
    rule: d.rule,
    reason: d.reason,
    time: new Date(d.time).toISOString(),
    duration: d.durationMs,
    offence: d.offence,
    allPorts: d.allPorts,
    dryRun: d.dryRun,
    evidence: d.evidence,
  });
}

export function targetText(d: Decision): string {
  const t = d.target;
  return escapeText(t.ip ?? t.account ?? t.channel ?? '?', 64);
}

/** One human line for a decision. */
export function decisionLine(d: Decision): string {
  const what = d.action === 'watch' ? 'WATCH' : d.action.toUpperCase();
  const dur = d.durationMs ? ` for ${formatDuration(d.durationMs)}` : '';
  const acc = d.evidence.sampleAccounts.length ? ` accounts=${d.evidence.sampleAccounts.map((a) => escapeText(a, 32)).join(',')}` : '';
  return `${new Date(d.time).toISOString()} ${what} ${targetText(d)}${dur} rule=${d.rule} attempts=${d.evidence.attempts}${acc}${d.dryRun ? ' (dry-run)' : ''}\n    ${escapeText(d.reason, 300)}`;
}
