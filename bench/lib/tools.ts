// The programs a bench part or the lab needs (fail2ban-regex, nft, svcrack, ip...):
// found on PATH without a shell; the bench installs them from Debian when missing.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
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

/**
 * The command prefix that runs a program on one core, the first this process
 * may use (`taskset -c N`), with its description; no prefix when taskset is
 * missing or the allowed CPUs cannot be read.
 */
export function oneCore(status = readStatus()): { prefix: string[]; what: string } {
  const m = /^Cpus_allowed_list:\s*(\d+)/m.exec(status);
  if (!onPath('taskset')) return { prefix: [], what: 'not pinned: taskset is not installed (util-linux)' };
  if (!m) return { prefix: [], what: 'not pinned: the allowed CPUs are not in /proc/self/status' };
  return { prefix: ['taskset', '-c', m[1]!], what: `pinned to CPU ${m[1]} (taskset): the JavaScript and V8's collector threads share one core` };
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}
