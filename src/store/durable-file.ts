// A lowdb Adapter that survives kill -9 and power loss: write a temp file
// in the same directory, fsync it, keep the previous good version as .bak
// (a hard link: no copy), rename the temp over the target, fsync the
// directory. A reader then sees either the old or the new file, never a
// torn one; if the main file is still unreadable (disk trouble, a hand
// edit), the .bak is the fallback.
import { constants as FS } from 'node:fs';
import { link, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

export type DurableFileEvent =
  | { kind: 'recovered-from-backup'; path: string; reason: string }
  | { kind: 'corrupt-reset'; path: string; reason: string; movedTo: string | null }
  | { kind: 'main-missing-used-backup'; path: string };

export interface DurableFileOptions<T> {
  readonly parse?: (text: string) => unknown;
  readonly stringify?: (data: T) => string;
  /**
   * Instead of stringify: the text in pieces, made while the file is written,
   * so a large document is never one string (and its UTF-8 copy) in memory.
   * It must take, when called, whatever the caller may change afterwards.
   */
  readonly pieces?: (data: T) => Iterable<string>;
  /** Structural check: data that parses but fails it counts as corrupt. */
  readonly validate?: (data: unknown) => data is T;
  /** Recovery notices ("journal corrupt, recovered from backup"). */
  readonly onEvent?: (e: DurableFileEvent) => void;
  /** Tests may turn fsync off for speed; never in production. */
  readonly fsync?: boolean;
  readonly now?: () => number;
}

export class DurableFile<T> implements Adapter<T> {
  readonly bakPath: string;
  private chain: Promise<void> = Promise.resolve();
  private seq = 0;
  /** Whether the file at `path` is known to parse (so it may become the .bak). */
  private mainGood: boolean | null = null;

  constructor(
    readonly path: string,
    private readonly opts: DurableFileOptions<T> = {},
  ) {
    this.bakPath = `${path}.bak`;
  }

  async read(): Promise<T | null> {
    await this.chain;
    await this.removeTempFiles();
    const main = await this.load(this.path);
    if (main.state === 'ok') {
      this.mainGood = true;
      return main.data;
    }
    const bak = await this.load(this.bakPath);
    if (main.state === 'missing') {
      this.mainGood = false;
      if (bak.state === 'ok') {
        this.opts.onEvent?.({ kind: 'main-missing-used-backup', path: this.path });
        return bak.data;
      }
      return null;
    }
    // Main is corrupt: move it aside so it never becomes the next .bak,
    // and keep it for a post-mortem.
    const movedTo = await this.moveAside(this.path);
    this.mainGood = false;
    if (bak.state === 'ok') {
      this.opts.onEvent?.({ kind: 'recovered-from-backup', path: this.path, reason: main.reason });
      return bak.data;
    }
    this.opts.onEvent?.({
      kind: 'corrupt-reset',
      path: this.path,
      reason: `${main.reason}; backup: ${bak.state === 'missing' ? 'missing' : bak.reason}`,
      movedTo,
    });
    return null;
  }

  write(data: T): Promise<void> {
    // Serialise now (or take what `pieces` needs now): the caller may mutate `data` right after this call.
    const text = this.opts.pieces ? this.opts.pieces(data) : [(this.opts.stringify ?? ((d: T) => JSON.stringify(d)))(data)];
    // Concurrent writes go one after the other, in call order.
    const p = this.chain.then(() => this.writeText(text));
    this.chain = p.catch(() => {});
    return p;
  }

  private async writeText(text: Iterable<string>): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `${basename(this.path)}.tmp-${process.pid}-${++this.seq}`);
    const sync = this.opts.fsync ?? true;
    const fh = await open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC, 0o600);
    try {
      // writeFile on a handle writes from the current position, to the end of the piece.
      for (const piece of text) await fh.writeFile(piece, 'utf8');
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    if (this.mainGood === null) this.mainGood = (await this.load(this.path)).state === 'ok';
    if (this.mainGood) {
      // .bak := the current (good) main, swapped in atomically.
      const bakTmp = `${this.bakPath}.tmp-${process.pid}`;
      await unlink(bakTmp).catch(() => {});
      try {
        await link(this.path, bakTmp);
        await rename(bakTmp, this.bakPath);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    await rename(tmp, this.path);
    this.mainGood = true;
    if (sync) await fsyncDir(dir);
  }

  private async load(p: string): Promise<{ state: 'ok'; data: T } | { state: 'missing' } | { state: 'corrupt'; reason: string }> {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      return { state: 'corrupt', reason: (e as Error).message };
    }
    try {
      const data = (this.opts.parse ?? JSON.parse)(text) as unknown;
      if (data === null || data === undefined) return { state: 'corrupt', reason: 'empty document' };
      if (this.opts.validate && !this.opts.validate(data)) return { state: 'corrupt', reason: 'unexpected structure' };
      return { state: 'ok', data: data as T };
    } catch (e) {
      return { state: 'corrupt', reason: text.length === 0 ? 'empty file' : `unparseable: ${(e as Error).message}` };
    }
  }

  private async moveAside(p: string): Promise<string | null> {
    const to = `${p}.corrupt-${(this.opts.now ?? Date.now)()}`;
    try {
      await rename(p, to);
      await fsyncDir(dirname(p)).catch(() => {});
      return to;
    } catch {
      return null;
    }
  }

  /** Temp files left by a write that was killed mid-way. */
  private async removeTempFiles(): Promise<void> {
    const dir = dirname(this.path);
    const prefixes = [`${basename(this.path)}.tmp-`, `${basename(this.bakPath)}.tmp-`];
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (prefixes.some((p) => n.startsWith(p))) await unlink(join(dir, n)).catch(() => {});
    }
  }
}

/** fsync a directory so a rename in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, FS.O_RDONLY | FS.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
