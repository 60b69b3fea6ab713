// Cutting flows the kernel already tracks: a ban drops new packets, but an
// `ct state established accept` elsewhere (or a NAT binding) can keep an
// existing flow alive, so the banned source's conntrack entries go too.
import type { Logger } from 'pino';
import { limiter, type BanTarget } from './ban-target.ts';
import { prefixMask } from './ip-validate.ts';
import type { Exec } from './run-command.ts';

export function conntrackDeleteArgs(t: BanTarget): string[] {
  const args = ['-D', '-f', t.family === 4 ? 'ipv4' : 'ipv6', '-s', t.network];
  if (!t.host) args.push('--mask-src', prefixMask(t.family, t.prefix));
  return args;
}

/** Never throws: the ban itself is in place; a failed flow cut is logged. */
export async function flushConntrack(exec: Exec, t: BanTarget, log: Logger): Promise<void> {
  try {
    const res = await exec('conntrack', conntrackDeleteArgs(t));
    // Exit 1 with "0 flow entries" just means nothing was tracked.
    if (res.code !== 0 && !/0 flow entries/.test(res.stderr)) {
      log.warn({ ip: t.elem, stderr: res.stderr.trim() }, 'conntrack -D failed');
    }
  } catch (e) {
    log.warn({ ip: t.elem, err: (e as Error).message }, 'conntrack -D failed');
  }
}

/** Probe once at init; false (with a warning) when conntrack is unusable. */
export async function conntrackUsable(exec: Exec, log: Logger): Promise<boolean> {
  try {
    const c = await exec('conntrack', ['--version']);
    if (c.code === 0) return true;
    throw new Error(c.stderr.trim());
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'conntrack unavailable: flows of banned sources tracked before the ban will not be cut');
    return false;
  }
}

/**
 * Cuts the tracked flows of banned sources behind the ban: at most
 * `concurrency` conntrack spawns at once, and settled() waits for all.
 */
export class ConntrackCutter {
  private readonly gate: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly exec: Exec,
    private readonly log: Logger,
    concurrency = 8,
  ) {
    this.gate = limiter(concurrency);
  }

  cut(t: BanTarget): void {
    const p = this.gate(() => flushConntrack(this.exec, t, this.log));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
