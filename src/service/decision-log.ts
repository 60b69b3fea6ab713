import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import { escapeText } from '../console/escape.ts';

/**
 * One log line per decision with stable field names (ip, account, rule,
 * attempts, action, expiry) for journald and SIEMs. pino's JSON escapes
 * control characters; account text is attacker-chosen, so it stays a field
 * and never becomes part of the message.
 */
export function logDecision(logger: Logger, d: Decision, fail2banFormat = false): void {
  logger.info(
    {
      event: 'decision',
      id: d.id,
      action: d.action,
      ip: d.target.ip,
      // pino escapes C0 controls but not DEL, C1 or bidi overrides: escape attacker text here.
      account: d.target.account === undefined ? undefined : escapeText(d.target.account, 64),
      channel: d.target.channel === undefined ? undefined : escapeText(d.target.channel, 128),
      accounts: d.evidence.sampleAccounts.length ? d.evidence.sampleAccounts.map((a) => escapeText(a, 64)) : undefined,
      rule: d.rule,
      attempts: d.evidence.attempts,
      events: d.evidence.events,
      first: d.evidence.first,
      last: d.evidence.last,
      offence: d.offence,
      durationMs: d.durationMs,
      expiry: d.durationMs ? new Date(d.expiresAt).toISOString() : undefined,
      dryRun: d.dryRun,
    },
    d.reason,
  );
  // fail2ban's own action line, so watchers of fail2ban.log keep working.
  if (fail2banFormat && d.action === 'ban-ip' && d.target.ip) {
    process.stdout.write(`${new Date(d.time).toISOString().replace('T', ' ').slice(0, 23)} sipwarden.actions [${process.pid}]: NOTICE  [${d.rule}] Ban ${d.target.ip}\n`);
  }
}
