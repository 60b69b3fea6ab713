import { readFileSync } from 'node:fs';

/** The package version (package.json sits two levels up from both src/ops and dist/ops). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
