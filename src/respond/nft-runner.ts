// Two ways to hand nft one transaction. bench/reaction/nft-batch.bench.ts
// measures both; see docs/enforcement.md for the figures.
//  - oneshot: one `nft -f -` per batch (a fresh process, rules parsed from stdin).
//  - interactive: one long-lived `nft -i`; a batch is written as ONE line
//    (nft -i commits each line as one transaction), followed by a sentinel
//    line that always fails. Errors and the sentinel both go to stderr, one
//    pipe, in order: whatever stderr holds before the sentinel's error is the
//    batch's error, and nothing before it means success.
import { spawn } from 'node:child_process';
import { CommandTimeoutError, MissingToolError, expectOk, netnsArgv, type Exec } from './run-command.ts';

export interface NftResult {
  readonly ok: boolean;
  /** nft's error text when !ok. */
  readonly error: string;
}

export interface NftRunner {
  readonly kind: 'oneshot' | 'interactive';
  /** Run newline-separated commands as one atomic transaction. */
  run(batch: string): Promise<NftResult>;
  close(): Promise<void>;
}

export class OneShotNft implements NftRunner {
  readonly kind = 'oneshot';
  constructor(private readonly exec: Exec) {}

  async run(batch: string): Promise<NftResult> {
    const res = await this.exec('nft', ['-f', '-'], batch);
    if (res.code === 0) return { ok: true, error: '' };
    // Permission problems are not per-batch faults: surface them as such.
    expectOk('nft', ['-f', '-'], res, () => !/Operation not permitted/i.test(res.stderr));
    return { ok: false, error: res.stderr || `nft exited ${res.code}` };
  }

  async close(): Promise<void> {}
}

/** The slice of a child process the interactive runner needs (fakeable). */
export interface LineProcess {
  write(s: string): void;
  onStderr(cb: (chunk: string) => void): void;
  onExit(cb: (why: string, err?: Error) => void): void;
  kill(): void;
}

export type SpawnLineProcess = (file: string, args: string[]) => LineProcess;

export function spawnLineProcess(netns?: string): SpawnLineProcess {
  return (file, args) => {
    const [f, a] = netnsArgv(file, args, netns);
    const child = spawn(f, a, { shell: false, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    child.stdin.on('error', () => {});
    return {
      write: (s) => void child.stdin.write(s),
      onStderr: (cb) => child.stderr.on('data', (b: Buffer) => cb(b.toString('utf8'))),
      onExit: (cb) => {
        child.on('error', (e: NodeJS.ErrnoException) => cb(e.message, e.code === 'ENOENT' ? new MissingToolError(file) : e));
        child.on('exit', (code, sig) => cb(`nft -i exited (${code ?? sig})`));
      },
      kill: () => void child.kill('SIGKILL'),
    };
  };
}

interface Waiter {
  readonly seq: number;
  readonly resolve: (r: NftResult) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class InteractiveNft implements NftRunner {
  readonly kind = 'interactive';
  private proc: LineProcess | null = null;
  private buf = '';
  private seq = 0;
  private waiter: Waiter | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** Batches written or waiting, not yet settled. */
  private queued = 0;

  constructor(
    private readonly spawnFn: SpawnLineProcess,
    private readonly timeoutMs = 10_000,
  ) {}

  run(batch: string): Promise<NftResult> {
    // One batch at a time: the sentinel protocol needs strict request/response.
    // When idle, write now rather than a microtask later, after the caller's turn.
    const p = this.queued === 0 ? this.runOne(batch) : this.chain.then(() => this.runOne(batch));
    this.queued++;
    this.chain = p.catch(() => {}).then(() => void this.queued--);
    return p;
  }

  async close(): Promise<void> {
    await this.chain;
    this.proc?.kill();
    this.proc = null;
  }

  private ensure(): LineProcess {
    if (this.proc) return this.proc;
    const proc = this.spawnFn('nft', ['-i']);
    this.buf = '';
    proc.onStderr((chunk) => {
      if (this.proc !== proc) return;
      this.buf += chunk;
      this.scan();
    });
    proc.onExit((why, err) => {
      if (this.proc !== proc) return;
      this.proc = null;
      this.fail(err ?? new Error(why));
    });
    this.proc = proc;
    return proc;
  }

  private sentinel(seq: number): string {
    // A table name that cannot exist: listing it always fails, echoing the line.
    return `list table inet __sipwarden_sync_${seq}`;
  }

  private runOne(batch: string): Promise<NftResult> {
    const line = batch
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .join('; ');
    return new Promise<NftResult>((resolve, reject) => {
      let proc: LineProcess;
      try {
        proc = this.ensure();
      } catch (e) {
        reject(e as Error);
        return;
      }
      const seq = ++this.seq;
      const timer = setTimeout(() => {
        // A wedged nft: kill it, a fresh one is spawned for the next batch.
        this.proc?.kill();
        this.proc = null;
        this.fail(new CommandTimeoutError('nft -i', this.timeoutMs));
      }, this.timeoutMs);
      this.waiter = { seq, resolve, reject, timer };
      proc.write(`${line}\n${this.sentinel(seq)}\n`);
    });
  }

  private fail(e: Error): void {
    const w = this.waiter;
    this.waiter = null;
    if (!w) return;
    clearTimeout(w.timer);
    w.reject(e);
  }

  private scan(): void {
    const w = this.waiter;
    if (!w) return;
    const marker = `\n${this.sentinel(w.seq)}\n`;
    const at = this.buf.indexOf(marker);
    if (at < 0) return;
    // Wait for the caret line that follows the echoed sentinel.
    const caretEnd = this.buf.indexOf('\n', at + marker.length);
    if (caretEnd < 0) return;
    const errLineStart = this.buf.lastIndexOf('\n', at - 1) + 1;
    const error = this.buf.slice(0, errLineStart);
    this.buf = this.buf.slice(caretEnd + 1);
    this.waiter = null;
    clearTimeout(w.timer);
    w.resolve(error.trim() === '' ? { ok: true, error: '' } : { ok: false, error: error.trim() });
  }
}
