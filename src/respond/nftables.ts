// Default responder: bans as timed elements of nftables sets in our own
// table `inet sipwarden`. The kernel expires them, so bans hold (and end)
// whether or not sipwarden is running. We never touch other tables.
import { pino, type Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { ActiveEntry, Responder } from './responder.ts';
import {
  DEFAULT_SIP_PORTS,
  banTargetOf,
  banTimeoutSec,
  checkPorts,
  nftPorts,
  type BanTarget,
  type SipPorts,
} from './ban-target.ts';
import { ConntrackCutter, conntrackUsable } from './conntrack.ts';
import { dryRunExec, type DryRunRecord } from './dry-run-exec.ts';
import { unbannableReason, validateCidr } from './ip-validate.ts';
import { InteractiveNft, OneShotNft, spawnLineProcess, type NftResult, type NftRunner, type SpawnLineProcess } from './nft-runner.ts';
import { CommandFailedError, PermissionError, createExec, expectOk, withNetns, type Exec } from './run-command.ts';
import { InFlightBatcher } from './in-flight-batcher.ts';

export const NFT_TABLE = 'sipwarden';
const T = `inet ${NFT_TABLE}`;

/** Set names by (family, kind). `net*` hold CIDR bans (interval sets). */
export const NFT_SETS = {
  ban4: 'ban4',
  ban6: 'ban6',
  ban4_all: 'ban4_all',
  ban6_all: 'ban6_all',
  net4: 'net4',
  net6: 'net6',
  black4: 'black4',
  black6: 'black6',
} as const;

export interface NftablesOptions {
  /** Command runner (tests inject a fake). Default: spawn, no shell. */
  readonly exec?: Exec;
  /** Run every command inside `ip netns exec <netns>`. */
  readonly netns?: string;
  /** Log what would be run, run nothing. */
  readonly dryRun?: boolean;
  /** Dry-run: also hand each would-be command to this callback. */
  readonly onDryRun?: (r: DryRunRecord) => void;
  readonly logger?: Logger;
  /**
   * How batches reach nft (docs/enforcement.md has the figures):
   * 'auto' (default): the long-lived `nft -i` for small batches (~0.5 ms vs
   * ~17 ms for a spawn), a one-shot `nft -f -` for big ones (nft -i parses a
   * huge single line ~4x slower than nft -f parses the same text).
   */
  readonly strategy?: NftStrategy;
  /** 'auto': batches with more ops than this go one-shot (default 200). */
  readonly bigBatchOps?: number;
  readonly sipPorts?: SipPorts;
  /** Base chain priority; < 0 so it runs before a priority-0 filter chain. */
  readonly priority?: number;
  /** Ceiling on a ban (and what "permanent" becomes). Default 365 days. */
  readonly maxBanMs?: number;
  /** Delete conntrack entries of a newly banned source (default true). */
  readonly conntrack?: boolean;
  readonly now?: () => number;
  /** For the interactive strategy (tests inject a fake process). */
  readonly spawnLine?: SpawnLineProcess;
}

export type NftStrategy = 'oneshot' | 'interactive' | 'auto';

type NftOp =
  | { readonly kind: 'add'; readonly set: string; readonly elem: string; readonly timeoutSec: number }
  | { readonly kind: 'del'; readonly sets: readonly string[]; readonly elem: string };

export function setFor(t: BanTarget): string {
  const f = t.family;
  if (!t.host) return `net${f}`;
  return t.allPorts ? `ban${f}_all` : `ban${f}`;
}

/**
 * The nft text of one op. "add x; delete x; add x timeout N" makes an add
 * set the timeout even when the element exists (a plain `add` keeps the old
 * timeout, and nft 1.0.6 has no `destroy`); "add x; delete x" makes a delete
 * never fail with "not found". Both stay one atomic transaction.
 */
export function renderOp(op: NftOp): string {
  if (op.kind === 'add') {
    return [
      `add element ${T} ${op.set} { ${op.elem} timeout 1s }`,
      `delete element ${T} ${op.set} { ${op.elem} }`,
      `add element ${T} ${op.set} { ${op.elem} timeout ${op.timeoutSec}s }`,
    ].join('\n');
  }
  return op.sets
    .flatMap((s) => [`add element ${T} ${s} { ${op.elem} timeout 1s }`, `delete element ${T} ${s} { ${op.elem} }`])
    .join('\n');
}

/** The idempotent setup batch: table, sets, and our chain's rules re-created. */
export function nftSetupBatch(ports: SipPorts = DEFAULT_SIP_PORTS, priority = -10): string {
  const lines = [
    `add table ${T}`,
    `add set ${T} ban4 { type ipv4_addr; flags timeout; }`,
    `add set ${T} ban6 { type ipv6_addr; flags timeout; }`,
    `add set ${T} ban4_all { type ipv4_addr; flags timeout; }`,
    `add set ${T} ban6_all { type ipv6_addr; flags timeout; }`,
    `add set ${T} net4 { type ipv4_addr; flags interval, timeout; }`,
    `add set ${T} net6 { type ipv6_addr; flags interval, timeout; }`,
    `add set ${T} black4 { type ipv4_addr; flags interval; auto-merge; }`,
    `add set ${T} black6 { type ipv6_addr; flags interval; auto-merge; }`,
    `add chain ${T} input { type filter hook input priority ${priority}; policy accept; }`,
    `flush chain ${T} input`,
  ];
  for (const f of [4, 6] as const) {
    const saddr = f === 4 ? 'ip saddr' : 'ip6 saddr';
    lines.push(`add rule ${T} input ${saddr} @black${f} counter drop comment "black${f}"`);
    lines.push(`add rule ${T} input ${saddr} @net${f} counter drop comment "net${f}"`);
    lines.push(`add rule ${T} input ${saddr} @ban${f}_all counter drop comment "ban${f}_all"`);
    if (ports.udp.length > 0) lines.push(`add rule ${T} input ${saddr} @ban${f} udp dport { ${nftPorts(ports.udp)} } counter drop comment "ban${f} udp"`);
    if (ports.tcp.length > 0) lines.push(`add rule ${T} input ${saddr} @ban${f} tcp dport { ${nftPorts(ports.tcp)} } counter drop comment "ban${f} tcp"`);
  }
  return lines.join('\n') + '\n';
}

export interface NftSetEntry extends ActiveEntry {
  readonly ip: string;
  readonly set: string;
}

/** Parse `nft -j list table inet sipwarden` into set elements and rule counters. */
export function parseNftTable(json: string): { entries: NftSetEntry[]; counters: Record<string, { packets: number; bytes: number }> } {
  const entries: NftSetEntry[] = [];
  const counters: Record<string, { packets: number; bytes: number }> = {};
  if (json.trim() === '') return { entries, counters };
  const doc = JSON.parse(json) as { nftables?: unknown[] };
  for (const item of doc.nftables ?? []) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    const set = o['set'] as { name?: string; elem?: unknown[] } | undefined;
    if (set?.name && Array.isArray(set.elem)) {
      const allPorts = set.name !== 'ban4' && set.name !== 'ban6';
      for (const e of set.elem) {
        const parsed = parseElem(e);
        if (!parsed) continue;
        entries.push({ ip: parsed.ip, set: set.name, allPorts, ...(parsed.remainingMs === undefined ? {} : { remainingMs: parsed.remainingMs }) });
      }
    }
    const rule = o['rule'] as { comment?: string; expr?: unknown[] } | undefined;
    if (rule?.comment && Array.isArray(rule.expr)) {
      for (const x of rule.expr) {
        const c = (x as { counter?: { packets?: number; bytes?: number } } | null)?.counter;
        if (c) counters[rule.comment] = { packets: c.packets ?? 0, bytes: c.bytes ?? 0 };
      }
    }
  }
  return { entries, counters };
}

function valText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const p = (v as { prefix?: { addr?: string; len?: number } }).prefix;
    if (p?.addr !== undefined && p.len !== undefined) return `${p.addr}/${p.len}`;
    const r = (v as { range?: [string, string] }).range;
    if (Array.isArray(r)) return `${r[0]}-${r[1]}`;
  }
  return null;
}

function parseElem(e: unknown): { ip: string; remainingMs?: number } | null {
  if (typeof e === 'string') return { ip: e };
  if (typeof e !== 'object' || e === null) return null;
  const inner = (e as { elem?: { val?: unknown; expires?: number; timeout?: number } }).elem;
  if (inner) {
    const ip = valText(inner.val);
    if (ip === null) return null;
    // nft -j reports seconds; a missing `expires` means no timeout.
    return inner.expires === undefined ? { ip } : { ip, remainingMs: inner.expires * 1000 };
  }
  const ip = valText(e);
  return ip === null ? null : { ip };
}

export class NftablesResponder implements Responder {
  readonly name = 'nftables';
  private readonly log: Logger;
  private readonly exec: Exec;
  private readonly dryRun: boolean;
  private readonly ports: SipPorts;
  private readonly priority: number;
  private readonly maxBanMs: number;
  private readonly now: () => number;
  private readonly strategy: NftStrategy;
  private conntrack: boolean;
  private readonly oneshot: NftRunner;
  private readonly interactive: NftRunner | null;
  private readonly bigBatchOps: number;
  private readonly batcher: InFlightBatcher<NftOp>;
  private readonly cutter: ConntrackCutter;
  /** Logs the batch text for decisions flagged dryRun, even in a live backend. */
  private readonly dryExec: Exec;

  constructor(private readonly opts: NftablesOptions = {}) {
    this.log = opts.logger ?? pino({ level: opts.dryRun ? 'info' : 'silent' });
    this.dryRun = opts.dryRun ?? false;
    this.dryExec = dryRunExec(this.log, this.name, opts.onDryRun);
    this.exec = this.dryRun ? this.dryExec : withNetns(opts.exec ?? createExec(), opts.netns);
    this.cutter = new ConntrackCutter(this.exec, this.log);
    this.ports = opts.sipPorts ?? DEFAULT_SIP_PORTS;
    checkPorts(this.ports);
    this.priority = opts.priority ?? -10;
    if (!Number.isInteger(this.priority) || Math.abs(this.priority) > 1000) throw new Error('invalid chain priority');
    this.maxBanMs = opts.maxBanMs ?? 365 * 86_400_000;
    this.now = opts.now ?? Date.now;
    this.conntrack = opts.conntrack ?? true;
    // A long-lived process makes no sense without a kernel to talk to.
    this.strategy = this.dryRun ? 'oneshot' : (opts.strategy ?? 'auto');
    this.bigBatchOps = opts.bigBatchOps ?? 200;
    this.oneshot = new OneShotNft(this.exec);
    // Spawned lazily, on the first batch that uses it.
    this.interactive = this.strategy === 'oneshot' ? null : new InteractiveNft(opts.spawnLine ?? spawnLineProcess(opts.netns));
    this.batcher = new InFlightBatcher<NftOp>((ops) => this.runBatch(ops));
  }

  handles(d: Decision): boolean {
    return d.action === 'ban-ip' && typeof d.target.ip === 'string';
  }

  async init(): Promise<void> {
    // Probe first: a missing binary must say "nft not found", not "batch failed".
    const v = await this.exec('nft', ['--version']);
    expectOk('nft', ['--version'], v);
    const batch = nftSetupBatch(this.ports, this.priority);
    const res = await this.exec('nft', ['-f', '-'], batch);
    expectOk('nft', ['-f', '-'], res);
    if (this.conntrack && !this.dryRun) this.conntrack = await conntrackUsable(this.exec, this.log);
    // Start `nft -i` now: spawning it on the first ban would add ~10 ms, the
    // time a password cracker needs for one or two more guesses.
    if (this.interactive && !this.dryRun) await this.interactive.run(`list set ${T} ban4\n`).catch(() => {});
    this.log.info({ strategy: this.strategy, ports: this.ports }, 'nftables responder ready');
  }

  async apply(d: Decision): Promise<void> {
    const t = banTargetOf(d);
    const timeoutSec = banTimeoutSec(d, this.now(), { maxBanMs: this.maxBanMs });
    if (timeoutSec === null) {
      this.log.debug({ id: d.id, ip: t.elem }, 'ban already expired, not applied');
      return;
    }
    const op: NftOp = { kind: 'add', set: setFor(t), elem: t.elem, timeoutSec };
    if (d.dryRun) {
      await this.dryExec('nft', ['-f', '-'], renderOp(op) + '\n');
      return;
    }
    await this.batcher.submit(op);
    // The ban holds from here on. Cutting tracked flows (a spawn each,
    // ~18 ms) runs behind, so it doesn't slow the ban itself; flush() waits for it.
    if (this.conntrack && !this.dryRun) this.cutter.cut(t);
  }

  async revoke(d: Decision): Promise<void> {
    const t = banTargetOf(d);
    // Unban everywhere this address could be: SIP-only and all-port sets.
    const sets = t.host ? [`ban${t.family}`, `ban${t.family}_all`] : [`net${t.family}`];
    const op: NftOp = { kind: 'del', sets, elem: t.elem };
    if (d.dryRun) {
      await this.dryExec('nft', ['-f', '-'], renderOp(op) + '\n');
      return;
    }
    await this.batcher.submit(op);
  }

  /** Wait until every queued change has reached the kernel (and flows are cut). */
  async flush(): Promise<void> {
    await this.batcher.flush();
    await this.cutter.settled();
  }


  async reconcile(): Promise<ActiveEntry[]> {
    const { entries } = await this.list();
    return entries.filter((e) => !e.set.startsWith('black'));
  }

  /** Packets/bytes per rule (keyed by rule comment, e.g. "ban4 udp"). */
  async counters(): Promise<Record<string, { packets: number; bytes: number }>> {
    return (await this.list()).counters;
  }

  private async list(): Promise<ReturnType<typeof parseNftTable>> {
    const args = ['-j', 'list', 'table', 'inet', NFT_TABLE];
    const res = await this.exec('nft', args);
    if (res.code !== 0 && /No such file or directory/.test(res.stderr)) return { entries: [], counters: {} };
    expectOk('nft', args, res);
    return parseNftTable(res.stdout);
  }

  /**
   * Replace the permanent blacklist (CIDRs, all ports) atomically. Invalid
   * or too-wide entries are refused and returned, never half-applied.
   */
  async setBlacklist(cidrs: readonly string[]): Promise<{ applied: string[]; rejected: Array<{ cidr: string; reason: string }> }> {
    const v4: string[] = [];
    const v6: string[] = [];
    const rejected: Array<{ cidr: string; reason: string }> = [];
    for (const c of cidrs) {
      const r = validateCidr(c);
      if (!r.ok) {
        rejected.push({ cidr: String(c).slice(0, 80), reason: r.reason });
        continue;
      }
      const why = unbannableReason(r);
      if (why) rejected.push({ cidr: r.cidr, reason: why });
      else (r.family === 4 ? v4 : v6).push(r.prefix === (r.family === 4 ? 32 : 128) ? r.network : r.cidr);
    }
    const lines = [`flush set ${T} black4`, `flush set ${T} black6`];
    if (v4.length) lines.push(`add element ${T} black4 { ${v4.join(', ')} }`);
    if (v6.length) lines.push(`add element ${T} black6 { ${v6.join(', ')} }`);
    const res = await this.exec('nft', ['-f', '-'], lines.join('\n') + '\n');
    expectOk('nft', ['-f', '-'], res);
    return { applied: [...v4, ...v6], rejected };
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.interactive?.close();
  }

  /** Remove our table (and only it). Bans are gone afterwards. */
  async uninstall(): Promise<void> {
    await this.shutdown();
    const res = await this.exec('nft', ['-f', '-'], `add table ${T}\ndelete table ${T}\n`);
    expectOk('nft', ['-f', '-'], res);
  }

  /** One transaction via the strategy's runner; a dead/wedged nft -i falls back to one-shot. */
  private async runTx(text: string, ops: number): Promise<NftResult> {
    const useInteractive = this.interactive !== null && (this.strategy === 'interactive' || ops <= this.bigBatchOps);
    if (!useInteractive || !this.interactive) return this.oneshot.run(text);
    try {
      return await this.interactive.run(text);
    } catch (e) {
      if (e instanceof PermissionError) throw e;
      this.log.warn({ err: (e as Error).message }, 'nft -i failed, using one-shot nft for this batch');
      return this.oneshot.run(text);
    }
  }

  private async runBatch(ops: readonly NftOp[]): Promise<Array<Error | null>> {
    const text = ops.map(renderOp).join('\n') + '\n';
    const r = await this.runTx(text, ops.length);
    if (r.ok) return ops.map(() => null);
    if (/Operation not permitted/i.test(r.error)) throw new PermissionError('nft', r.error);
    if (ops.length === 1) return [new CommandFailedError('nft', ['-f', '-'], { code: 1, stdout: '', stderr: r.error })];
    // One bad op (e.g. an overlapping network) must not sink the others:
    // retry each alone, in order.
    this.log.warn({ ops: ops.length, error: r.error.split('\n')[0] }, 'nft batch failed, retrying ops one by one');
    const out: Array<Error | null> = [];
    for (const op of ops) {
      const one = await this.runTx(renderOp(op) + '\n', 1);
      out.push(one.ok ? null : new CommandFailedError('nft', ['-f', '-'], { code: 1, stdout: '', stderr: one.error }));
    }
    return out;
  }
}
