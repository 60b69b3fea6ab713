// The only way sipwarden starts a firewall tool: spawn with an argument
// array, never a shell, so no byte of a decision can become shell syntax.
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Injectable command runner: every backend takes one (tests pass a fake). */
export type Exec = (file: string, args: string[], stdin?: string) => Promise<ExecResult>;

export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
  constructor(readonly tool: string) {
    super(`${tool}: command not found; install the package that provides it (e.g. apt-get install ${tool})`);
  }
}

export class PermissionError extends Error {
  override readonly name = 'PermissionError';
  constructor(
    readonly tool: string,
    readonly detail: string,
  ) {
    super(
      `${tool}: operation not permitted; sipwarden needs root or the CAP_NET_ADMIN capability ` +
        `to change the firewall (${detail.trim().split('\n')[0] ?? ''})`,
    );
  }
}

export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly tool: string,
    readonly timeoutMs: number,
  ) {
    super(`${tool}: no answer within ${timeoutMs} ms, killed`);
  }
}

export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`${tool} ${args.join(' ')} exited ${result.code}: ${firstLines(result.stderr || result.stdout, 6)}`);
  }
}

export interface RunOptions {
  /** Kill the child after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Cap on captured stdout/stderr each (default 64 MiB; big sets list large). */
  readonly maxOutputBytes?: number;
}

const PERMISSION_RE = /Operation not permitted|Permission denied|must be root|EPERM|EACCES/i;

export function isPermissionFailure(stderr: string): boolean {
  return PERMISSION_RE.test(stderr);
}

function firstLines(s: string, n: number): string {
  return s.split('\n').slice(0, n).join('\n').trim();
}

/** Spawn `file args` (no shell), feed `stdin`, capture output. Never rejects on a non-zero exit. */
export function runCommand(file: string, args: readonly string[], stdin?: string, opts: RunOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBytes = opts.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    // LC_ALL=C: we match English tool messages ("0 flow entries", "Operation not permitted").
    const child = spawn(file, [...args], {
      shell: false,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let settled = false;
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(() => reject(new CommandTimeoutError(file, timeoutMs)));
    }, timeoutMs);
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < maxBytes) out.push(b);
      outLen += b.length;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < maxBytes) err.push(b);
      errLen += b.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      done(() => {
        if (e.code === 'ENOENT') reject(new MissingToolError(file));
        else if (e.code === 'EACCES' || e.code === 'EPERM') reject(new PermissionError(file, e.message));
        else reject(e);
      });
    });
    child.on('close', (code, signal) => {
      done(() =>
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      );
    });
    if (stdin !== undefined && child.stdin) {
      // The child may exit before reading everything (EPIPE): its exit code tells.
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    }
  });
}

const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function assertNetnsName(ns: string): void {
  if (!NETNS_RE.test(ns)) throw new Error(`invalid network namespace name: ${JSON.stringify(ns).slice(0, 80)}`);
}

/** argv that runs `file args` inside `netns` (or as is). */
export function netnsArgv(file: string, args: readonly string[], netns?: string): [string, string[]] {
  if (netns === undefined) return [file, [...args]];
  assertNetnsName(netns);
  return ['ip', ['netns', 'exec', netns, file, ...args]];
}

/**
 * Wrap an Exec so every command runs inside `netns` via `ip netns exec`.
 * `ip` reports a missing inner tool as exit 255 "exec of "nft" failed"; map that
 * to MissingToolError so callers see the same error either way.
 */
export function withNetns(exec: Exec, netns?: string): Exec {
  if (netns === undefined) return exec;
  assertNetnsName(netns);
  return async (file, args, stdin) => {
    const [f, a] = netnsArgv(file, args, netns);
    const res = await exec(f, a, stdin);
    if (res.code === 255 && /exec of .* failed: No such file or directory/.test(res.stderr)) {
      throw new MissingToolError(file);
    }
    return res;
  };
}

export interface ExecOptions extends RunOptions {
  readonly netns?: string;
}

/** The real runner, optionally confined to a network namespace. */
export function createExec(opts: ExecOptions = {}): Exec {
  const base: Exec = (file, args, stdin) => runCommand(file, args, stdin, opts);
  return withNetns(base, opts.netns);
}

/** Throw the most useful error for a failed run; return the result when `ok`. */
export function expectOk(tool: string, args: readonly string[], res: ExecResult, ok: (r: ExecResult) => boolean = (r) => r.code === 0): ExecResult {
  if (ok(res)) return res;
  if (isPermissionFailure(res.stderr)) throw new PermissionError(tool, res.stderr);
  throw new CommandFailedError(tool, args, res);
}

/** Run async jobs with at most `n` in flight (conntrack deletes after a ban storm). */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
