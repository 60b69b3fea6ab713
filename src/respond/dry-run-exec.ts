// The Exec a backend uses in dry-run mode: it logs the exact command line
// and stdin (the nft batch, the ipset restore text) and runs nothing.
import type { Logger } from 'pino';
import type { Exec } from './run-command.ts';

export interface DryRunRecord {
  readonly backend: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly stdin?: string;
}

export function dryRunExec(logger: Logger, backend: string, record?: (r: DryRunRecord) => void): Exec {
  return async (file, args, stdin) => {
    const r: DryRunRecord = stdin === undefined ? { backend, file, args } : { backend, file, args, stdin };
    record?.(r);
    logger.info({ dryRun: true, backend, argv: [file, ...args], ...(stdin === undefined ? {} : { stdin }) }, `dry-run: would run ${file}`);
    return { code: 0, stdout: '', stderr: '' };
  };
}
