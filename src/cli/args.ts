import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export interface Args {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
  str(name: string): string | undefined;
  bool(name: string): boolean;
}

/** node:util parseArgs with errors turned into one-line usage messages. */
export function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>, allowPositionals = true): Args {
  let r: { values: Record<string, unknown>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options, allowPositionals, strict: true }) as typeof r;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const values = r.values as Args['values'];
  return {
    values,
    positionals: r.positionals,
    str: (n) => (typeof values[n] === 'string' ? (values[n] as string) : undefined),
    bool: (n) => values[n] === true,
  };
}
