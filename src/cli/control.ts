import { join } from 'node:path';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { controlRequest } from '../control/client.ts';
import { formatDuration } from '../config/duration.ts';
import { escapeText } from '../console/escape.ts';
import { parse, UsageError } from './args.ts';

const USAGE = 'usage: sipwarden bans | ban IP [--for DURATION] [--reason TEXT] | unban IP | why IP   [--config FILE | --state-dir DIR] [--json]';

/** `sipwarden bans|ban|unban|why`: talk to the running service over its control socket. */
export async function controlCommand(cmd: string, argv: string[]): Promise<number> {
  const args = parse(argv, { config: { type: 'string', short: 'c' }, 'state-dir': { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } });
  const stateDir = args.str('state-dir') ?? loadConfig(args.str('config') ?? DEFAULT_CONFIG_PATH).stateDir;
  const sock = join(stateDir, 'control.sock');
  const ip = args.positionals[0];
  if (cmd !== 'bans' && !ip) throw new UsageError(USAGE);
  const req: Record<string, unknown> = { cmd };
  if (ip) req.ip = ip;
  if (args.str('for')) req.for = args.str('for');
  if (args.str('reason')) req.reason = args.str('reason');
  const ans = await controlRequest(sock, req);
  if (!ans.ok) {
    process.stderr.write(`sipwarden ${cmd}: ${escapeText(ans.error ?? 'failed', 300)}\n`);
    return 1;
  }
  if (args.bool('json')) {
    process.stdout.write(JSON.stringify(ans.result) + '\n');
    return 0;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  const r = ans.result as any;
  if (cmd === 'bans') {
    if (!r.length) out('no active bans or blocks');
    for (const b of r) out(`${(b.target.ip ?? b.target.account ?? b.target.channel ?? '?').padEnd(28)} ${b.action.padEnd(14)} ${formatDuration(b.leftMs).padStart(6)} left  ${b.rule.padEnd(20)} ${escapeText(b.reason, 160)}`);
  } else if (cmd === 'ban') out(`banned ${r.banned} until ${new Date(r.expiresAt).toISOString()}`);
  else if (cmd === 'unban') out(r.wasBanned ? `unbanned ${r.unbanned}` : `${r.unbanned} was not banned`);
  else {
    out(`${r.ip}: ${r.active ? `${r.active.action} by ${r.active.rule}, ${formatDuration(r.active.expiresAt - Date.now())} left` : 'not banned now'}${r.protection ? ` (never banned: ${r.protection})` : ''}`);
    for (const e of r.history) {
      const ev = e.evidence;
      out(`  ${new Date(e.time).toISOString()} ${e.action} rule=${e.rule} offence=${e.offence + 1}${e.revokedAt ? ` (revoked: ${escapeText(e.revokedReason ?? '', 60)})` : ''}`);
      out(`    ${escapeText(e.reason, 200)}`);
      out(`    attempts=${ev.attempts} events=${ev.events} first=${ev.first} last=${ev.last}${ev.sampleAccounts.length ? ` accounts=${ev.sampleAccounts.map((a: string) => escapeText(a, 32)).join(',')}` : ''}`);
    }
  }
  return 0;
}
