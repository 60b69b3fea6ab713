// Start-up checks shared by `sipwarden run` (fatal, one line each) and
// `sipwarden doctor` (reported). Each problem names its fix.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.ts';

/** A start-up problem: the message is one line and says how to fix it. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

export interface CapSets {
  readonly uid: number;
  readonly effective: bigint;
  readonly bounding: bigint;
  readonly ambient: bigint;
}

/** Capability sets from /proc/<pid>/status; null off Linux. */
export function readCaps(statusText?: string): CapSets | null {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const field = (k: string): string | undefined => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(text!)?.[1];
  const hex = (k: string): bigint => BigInt(`0x${field(k)?.trim() ?? '0'}`);
  const uid = Number(field('Uid')?.split(/\s+/)[1] ?? NaN); // effective uid
  return { uid, effective: hex('CapEff'), bounding: hex('CapBnd'), ambient: hex('CapAmb') };
}

const has = (set: bigint, cap: number): boolean => ((set >> BigInt(cap)) & 1n) === 1n;

/**
 * Can the firewall tools we spawn (nft, conntrack, ipset, iptables) use `cap`?
 * A child gets root's bounding set when we run as uid 0, but a non-root
 * service only passes on its ambient set (systemd AmbientCapabilities=).
 */
export function childHasCap(c: CapSets, cap: number): boolean {
  return c.uid === 0 ? has(c.bounding, cap) : has(c.ambient, cap) && has(c.bounding, cap);
}

/** Does this config change the kernel firewall? */
export function needsNetAdmin(cfg: Config, dryRun: boolean): boolean {
  return !dryRun && cfg.mode !== 'dry-run' && cfg.firewall.backend !== 'none';
}

/** Null when CAP_NET_ADMIN reaches the tools; otherwise the one-line problem with its fix. */
export function capabilityProblem(cfg: Config, dryRun: boolean, caps: CapSets | null = readCaps()): string | null {
  if (!caps || !needsNetAdmin(cfg, dryRun) || childHasCap(caps, CAP_NET_ADMIN)) return null;
  const who = caps.uid === 0 ? 'root without CAP_NET_ADMIN in its bounding set' : `uid ${caps.uid} without CAP_NET_ADMIN in its ambient set`;
  return `firewall.backend "${cfg.firewall.backend}" needs CAP_NET_ADMIN for nft/conntrack/ipset, but this process runs as ${who}: grant it (systemd: AmbientCapabilities=CAP_NET_ADMIN, as in systemd/sipwarden.service), or run as root, or set firewall.backend "none" / use --dry-run`;
}

/** Null when the state dir exists (or can be made) and a file can be written in it. */
export function stateDirProblem(dir: string, configPath?: string): string | null {
  const where = configPath ? ` in ${configPath}` : '';
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return `state dir ${dir} cannot be created (${code}): create it for the service user (install -d -o sipwarden -g sipwarden -m 0750 ${dir}; systemd's StateDirectory=sipwarden does this) or set stateDir${where}`;
  }
  // access(2) says yes to root whatever the mode; a real write is the only honest test.
  const probe = join(dir, `.sipwarden-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '', { mode: 0o600 });
    unlinkSync(probe);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const uid = process.getuid?.() ?? '?';
    return `state dir ${dir} is not writable by uid ${uid} (${code}): chown it to the service user (chown -R sipwarden:sipwarden ${dir}) or set stateDir${where}`;
  }
}

/** What `sipwarden run` refuses to start without. Throws StartupError. */
export function preflight(cfg: Config, opts: { dryRun: boolean; configPath?: string }): void {
  const state = stateDirProblem(cfg.stateDir, opts.configPath);
  if (state) throw new StartupError(state);
  const cap = capabilityProblem(cfg, opts.dryRun);
  if (cap) throw new StartupError(cap);
}
