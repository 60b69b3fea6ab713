// The tsc build the bench children run from: the code the service runs from dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Builds the checkout at `root` with tsc into its `.bench-build/` (gitignored), with the
 * links the build resolves relative to itself (the example config, the captures).
 * Returns the build's directory, or the error text of a failed build.
 */
export function benchBuild(root: string): { dir: string } | { error: string } {
  const at = resolve(root);
  const out = join(at, '.bench-build');
  const tsc = join(at, 'node_modules', '.bin', 'tsc');
  const b = spawnSync(tsc, ['-p', join(at, 'tsconfig.json'), '--outDir', out, '--noEmit', 'false'], { encoding: 'utf8' });
  if (b.status !== 0) return { error: (b.error?.message ?? b.stdout + b.stderr).slice(0, 200) };
  for (const [link, target] of [['config', '../config'], ['test/fixtures', '../../test/fixtures']] as const) {
    const to = join(out, link);
    mkdirSync(dirname(to), { recursive: true });
    if (!existsSync(to)) symlinkSync(target, to);
  }
  return { dir: out };
}
