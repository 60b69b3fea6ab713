// The programs a bench part or the lab needs (fail2ban-regex, nft, svcrack, ip...):
// found on PATH without a shell; the bench installs them from Debian when missing.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Is `cmd` an executable file in a PATH directory? */
export function onPath(cmd: string, path = process.env['PATH'] ?? ''): boolean {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Makes sure `cmd` is installed, with `apt-get install pkg` when it is not.
 * Returns '' when it is there, else why not (for the bench's table).
 */
export function ensureTool(cmd: string, pkg: string): string {
  if (onPath(cmd)) return '';
  if (process.getuid?.() !== 0) return `${cmd} is not installed (Debian package ${pkg}) and installing it needs root`;
  console.error(`${cmd} missing: apt-get install -y ${pkg}`);
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status === 0 && onPath(cmd)) return '';
  return `${cmd} is not installed and apt-get install ${pkg} failed (${r.error?.message ?? `exit ${r.status}`})`;
}
