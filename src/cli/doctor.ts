import { DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { doctorExitCode, formatResult, runDoctor } from '../ops/doctor.ts';
import { parse } from './args.ts';

/** `sipwarden doctor [--config FILE]`: one line per check, exit 1 when protection is blocked. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const args = parse(argv, { config: { type: 'string', short: 'c' } }, false);
  const configPath = args.str('config') ?? DEFAULT_CONFIG_PATH;
  const results = await runDoctor({ configPath, onResult: (r) => process.stdout.write(formatResult(r) + '\n') });
  const code = doctorExitCode(results);
  const fails = results.filter((r) => r.status === 'fail').length;
  const warns = results.filter((r) => r.status === 'warn').length;
  process.stdout.write(code ? `doctor: ${fails} problem(s) block protection, ${warns} warning(s)\n` : `doctor: protection works${warns ? ` (${warns} warning(s))` : ''}\n`);
  return code;
}
