// One sipwarden per state dir: two instances would fight over the journal
// and the kernel sets. The lock is a file created with O_EXCL holding our
// PID; a lock whose PID is dead is stale and taken over.
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class StateLockError extends Error {
  override readonly name = 'StateLockError';
  constructor(
    readonly pid: number,
    readonly dir: string,
  ) {
    super(`another sipwarden (pid ${pid}) is running with state dir ${dir}`);
  }
}

export interface LockOptions {
  readonly fileName?: string;
  /** Is `pid` a live process that could hold the lock? (tests inject) */
  readonly isAlive?: (pid: number) => boolean;
  /** A lock file with no PID yet (creator died between open and write) counts as stale after this. */
  readonly emptyGraceMs?: number;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, just not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A reused PID of an unrelated program is not a sipwarden.
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd === '' || /node|sipwarden|tsx/.test(cmd);
  } catch {
    return true;
  }
}

/** Lock paths this process holds (a PID-1 container restart finds its own PID in a stale lock). */
const held = new Set<string>();

export class StateLock {
  private released = false;
  private readonly onExit = (): void => this.releaseSync();

  private constructor(
    readonly dir: string,
    readonly path: string,
  ) {
    held.add(path);
    process.once('exit', this.onExit);
  }

  static async acquire(dir: string, opts: LockOptions = {}): Promise<StateLock> {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const path = join(dir, opts.fileName ?? 'sipwarden.lock');
    const isAlive = opts.isAlive ?? pidAlive;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(path)) return new StateLock(dir, path);
      const holder = await readPid(path);
      if (holder === 'gone') continue;
      if (holder === null) {
        // Being written right now, or its writer died before writing.
        const age = await ageMs(path);
        if (age !== null && age < (opts.emptyGraceMs ?? 2000)) {
          await sleep(50);
          continue;
        }
      } else if (holder === process.pid ? held.has(path) : isAlive(holder)) {
        throw new StateLockError(holder, dir);
      }
      // Stale. Only one contender may remove it: whoever creates the
      // takeover marker; others loop and meet the new owner's lock.
      const marker = `${path}.takeover`;
      if (await tryCreate(marker)) {
        try {
          const again = await readPid(path);
          if (again === holder) await unlink(path).catch(() => {});
        } finally {
          await unlink(marker).catch(() => {});
        }
      } else {
        const mAge = await ageMs(marker);
        if (mAge !== null && mAge > 10_000) await unlink(marker).catch(() => {});
        await sleep(50);
      }
    }
    const holder = await readPid(path);
    throw new StateLockError(typeof holder === 'number' ? holder : -1, dir);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    process.removeListener('exit', this.onExit);
    if ((await readPid(this.path)) === process.pid) await unlink(this.path).catch(() => {});
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    try {
      if (Number(readFileSync(this.path, 'utf8').trim()) === process.pid) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** The PID in the lock file, null if it holds none, 'gone' if the file vanished. */
async function readPid(path: string): Promise<number | null | 'gone'> {
  try {
    const t = (await readFile(path, 'utf8')).trim();
    return /^[1-9]\d{0,9}$/.test(t) ? Number(t) : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
}

async function ageMs(path: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
