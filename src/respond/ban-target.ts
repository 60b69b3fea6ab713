// Decision -> what a kernel backend needs: a checked address or network,
// which set family, and a bounded timeout. Shared by nft and ipset backends.
import type { Decision } from '../domain/types.ts';
import { unbannableReason, validateCidr, type IpFamily } from './ip-validate.ts';

export interface BanTarget {
  /** Canonical address ("198.18.0.11") or network ("198.18.4.0/24"). */
  readonly elem: string;
  readonly network: string;
  readonly prefix: number;
  readonly family: IpFamily;
  /** A single address (a /32 or /128), as opposed to a network. */
  readonly host: boolean;
  readonly allPorts: boolean;
}

export class InvalidTargetError extends Error {
  override readonly name = 'InvalidTargetError';
}

export function banTargetOf(d: Pick<Decision, 'target' | 'allPorts'>): BanTarget {
  const raw = d.target.ip;
  if (raw === undefined) throw new InvalidTargetError('decision has no target ip');
  const c = validateCidr(raw);
  if (!c.ok) throw new InvalidTargetError(`refusing target ${JSON.stringify(String(raw).slice(0, 60))}: ${c.reason}`);
  const why = unbannableReason(c);
  if (why) throw new InvalidTargetError(`refusing to ban ${c.cidr}: ${why}`);
  const host = c.prefix === (c.family === 4 ? 32 : 128);
  return { elem: host ? c.network : c.cidr, network: c.network, prefix: c.prefix, family: c.family, host, allPorts: d.allPorts };
}

export interface TimeoutPolicy {
  /** Ceiling for any ban; also what a duration of 0/Infinity becomes. */
  readonly maxBanMs: number;
  /** Floor, so a rounding artefact never means "no ban". */
  readonly minBanMs?: number;
}

/**
 * Seconds the kernel should hold the ban, from what is left until
 * expiresAt (so a re-add after a restart keeps the original end), or
 * null when it has already expired. Bans always get a timeout: the kernel
 * drops them by itself even if sipwarden is gone; "permanent" is the
 * blacklist's job.
 */
export function banTimeoutSec(d: Pick<Decision, 'durationMs' | 'expiresAt'>, now: number, p: TimeoutPolicy): number | null {
  const permanent = !(Number.isFinite(d.durationMs) && d.durationMs > 0);
  let ms: number;
  if (permanent) ms = p.maxBanMs;
  else if (Number.isFinite(d.expiresAt) && d.expiresAt > 0) ms = d.expiresAt - now;
  else ms = d.durationMs;
  if (ms <= 0) return null;
  ms = Math.min(Math.max(ms, p.minBanMs ?? 1000), p.maxBanMs);
  return Math.ceil(ms / 1000);
}

export type PortRange = number | readonly [number, number];
export interface SipPorts {
  readonly udp: readonly PortRange[];
  readonly tcp: readonly PortRange[];
}
/** UDP and TCP 5060-5061 (5061 is TLS, which rides on TCP). */
export const DEFAULT_SIP_PORTS: SipPorts = { udp: [[5060, 5061]], tcp: [[5060, 5061]] };

export function checkPorts(p: SipPorts): void {
  for (const r of [...p.udp, ...p.tcp]) {
    const [lo, hi] = typeof r === 'number' ? [r, r] : r;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) {
      throw new Error(`invalid SIP port range ${JSON.stringify(r)}`);
    }
  }
}

/** "5060-5061, 5080" for nft. */
export function nftPorts(rs: readonly PortRange[]): string {
  return rs.map((r) => (typeof r === 'number' ? String(r) : r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`)).join(', ');
}

/** "5060:5061,5080" for iptables -m multiport. */
export function multiPorts(rs: readonly PortRange[]): string {
  return rs.map((r) => (typeof r === 'number' ? String(r) : r[0] === r[1] ? String(r[0]) : `${r[0]}:${r[1]}`)).join(',');
}

/** Minimal concurrency gate (conntrack deletes after a storm). */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
