import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { createReplay } from '../replay/replay.ts';
import { escapeText, safeJson } from '../console/escape.ts';
import { decisionJson, decisionLine } from './output.ts';
import { parse, UsageError } from './args.ts';

export async function replayCommand(argv: string[]): Promise<number> {
  const args = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  const positionals = args.positionals;
  if (positionals.length === 0) throw new UsageError('usage: sipwarden replay FILE.ami... [--config FILE] [--json]');
  const cfg = loadConfig(args.str('config') ?? DEFAULT_CONFIG_PATH);
  const json = args.bool('json');
  const out = (s: string) => process.stdout.write(s + '\n');
  const replay = createReplay(cfg, {
    onDecision: (d) => out(json ? decisionJson(d) : decisionLine(d)),
    onIssue: (what, detail) => process.stderr.write(`skipped ${what}: ${escapeText(detail, 160)}\n`),
  });
  for (const f of positionals) {
    try {
      await replay.feedFile(f);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(`sipwarden replay: cannot read ${escapeText(f)}: ${code ?? (err as Error).message}\n`);
      replay.close();
      return 2;
    }
  }
  const summary = replay.summary();
  replay.close();
  if (json) out(safeJson(summary));
  else
    out(
      `\n${summary.files.length} file(s): ${summary.frames} frames, ${summary.securityEvents} security events, ${summary.attempts} attempts (${summary.retransmits} retransmits folded), ${summary.callEvents} call events, ${summary.malformed + summary.framerErrors} malformed skipped; ${summary.alerts} alerts -> ${summary.decisions} decisions ${JSON.stringify(summary.byAction)}${summary.fromBanned > 0 ? `; ${summary.fromBanned} events from sources already banned` : ''}`,
    );
  return 0;
}
