// The same bans for hosts without nft: ipset sets with per-element
// timeouts (kernel-side expiry) and one chain, SIPWARDEN, in the raw table.
//
// Why raw/PREROUTING: it runs before conntrack (priority -300 vs -200), so
// a banned source's packets never reach an `-m state ESTABLISHED -j ACCEPT`
// in filter/INPUT, tracked or not, and a flood from banned sources creates
// no conntrack entries. The price: it also sees forwarded traffic (usually
// wanted: an Asterisk in a container) and matches ports before DNAT.
import { pino, type Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { ActiveEntry, Responder } from './responder.ts';
import {
  DEFAULT_SIP_PORTS,
  banTargetOf,
  banTimeoutSec,
  checkPorts,
  multiPorts,
  type BanTarget,
  type PortRange,
  type SipPorts,
} from './ban-target.ts';
import { ConntrackCutter, conntrackUsable } from './conntrack.ts';
import { dryRunExec, type DryRunRecord } from './dry-run-exec.ts';
import { unbannableReason, validateCidr } from './ip-validate.ts';
import { CommandFailedError, PermissionError, createExec, expectOk, isPermissionFailure, withNetns, type Exec } from './run-command.ts';
import { InFlightBatcher } from './in-flight-batcher.ts';
import { ensureRawJump, removeRawChain } from './iptables-util.ts';

export const IPT_CHAIN = 'SIPWARDEN';
/** ipset's per-element timeout ceiling (seconds): 2^31/1000. */
export const IPSET_MAX_TIMEOUT_SEC = 2_147_483;

export function ipsetName(kind: 'ban' | 'ban-all' | 'net' | 'black', family: 4 | 6): string {
  return kind === 'ban-all' ? `sipwarden-ban${family}-all` : `sipwarden-${kind}${family}`;
}

const ALL_SETS: ReadonlyArray<{ name: string; type: 'hash:ip' | 'hash:net'; family: 4 | 6; timeout: boolean }> = ([4, 6] as const).flatMap((f) => [
  { name: ipsetName('ban', f), type: 'hash:ip' as const, family: f, timeout: true },
  { name: ipsetName('ban-all', f), type: 'hash:ip' as const, family: f, timeout: true },
  { name: ipsetName('net', f), type: 'hash:net' as const, family: f, timeout: true },
  { name: ipsetName('black', f), type: 'hash:net' as const, family: f, timeout: false },
]);

/** `ipset restore` text that creates our sets (with -exist: idempotent). */
export function ipsetCreateBatch(): string {
  return (
    ALL_SETS.map((s) => `create ${s.name} ${s.type} family ${s.family === 4 ? 'inet' : 'inet6'}${s.timeout ? ' timeout 0' : ''}`).join('\n') + '\n'
  );
}

function portCount(rs: readonly PortRange[]): number {
  return rs.reduce<number>((n, r) => n + (typeof r === 'number' || r[0] === r[1] ? 1 : 2), 0);
}

/** iptables-restore --noflush text: declares (and so flushes) our chain, then fills it. */
export function iptablesChainText(family: 4 | 6, ports: SipPorts): string {
  const set = (k: 'ban' | 'ban-all' | 'net' | 'black'): string => `-m set --match-set ${ipsetName(k, family)} src`;
  const lines = [
    '*raw',
    `:${IPT_CHAIN} - [0:0]`,
    `-A ${IPT_CHAIN} ${set('black')} -m comment --comment "black${family}" -j DROP`,
    `-A ${IPT_CHAIN} ${set('net')} -m comment --comment "net${family}" -j DROP`,
    `-A ${IPT_CHAIN} ${set('ban-all')} -m comment --comment "ban${family}_all" -j DROP`,
  ];
  for (const proto of ['udp', 'tcp'] as const) {
    const rs = ports[proto];
    if (rs.length === 0) continue;
    lines.push(`-A ${IPT_CHAIN} -p ${proto} -m multiport --dports ${multiPorts(rs)} ${set('ban')} -m comment --comment "ban${family} ${proto}" -j DROP`);
  }
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

type IpsetOp =
  | { readonly kind: 'add'; readonly set: string; readonly elem: string; readonly timeoutSec: number }
  | { readonly kind: 'del'; readonly sets: readonly string[]; readonly elem: string };

/** With `ipset -exist restore`, add updates the timeout of an existing entry and del ignores a missing one. */
export function renderIpsetOp(op: IpsetOp): string {
  if (op.kind === 'add') return `add ${op.set} ${op.elem} timeout ${op.timeoutSec}`;
  return op.sets.map((s) => `del ${s} ${op.elem}`).join('\n');
}

export function ipsetSetFor(t: BanTarget): string {
  if (!t.host) return ipsetName('net', t.family);
  return ipsetName(t.allPorts ? 'ban-all' : 'ban', t.family);
}

export interface IpsetEntry extends ActiveEntry {
  readonly ip: string;
  readonly set: string;
}

/** Parse `ipset save` output, keeping our sets only. */
export function parseIpsetSave(text: string): IpsetEntry[] {
  const out: IpsetEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^add (sipwarden-[a-z0-9-]+) (\S+)(?: timeout (\d+))?/.exec(line);
    if (!m) continue;
    const set = m[1] as string;
    const allPorts = !/^sipwarden-ban[46]$/.test(set);
    const ip = m[2] as string;
    out.push(m[3] === undefined ? { ip, set, allPorts } : { ip, set, allPorts, remainingMs: Number(m[3]) * 1000 });
  }
  return out;
}

/** Parse `iptables-save -c -t raw` lines of our chain into counters keyed by rule comment. */
export function parseIptablesSaveCounters(text: string, chain: string): Record<string, { packets: number; bytes: number }> {
  const out: Record<string, { packets: number; bytes: number }> = {};
  for (const line of text.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A (\S+) .*--comment (?:"([^"]*)"|(\S+))/.exec(line);
    if (!m || m[3] !== chain) continue;
    out[(m[4] ?? m[5]) as string] = { packets: Number(m[1]), bytes: Number(m[2]) };
  }
  return out;
}

export interface IptablesIpsetOptions {
  readonly exec?: Exec;
  readonly netns?: string;
  readonly dryRun?: boolean;
  /** Dry-run: also hand each would-be command to this callback. */
  readonly onDryRun?: (r: DryRunRecord) => void;
  readonly logger?: Logger;
  readonly sipPorts?: SipPorts;
  /** Also install the ip6tables side (default true). */
  readonly ipv6?: boolean;
  /** Ceiling (and "permanent"); ipset caps at ~24.8 days. */
  readonly maxBanMs?: number;
  readonly conntrack?: boolean;
  readonly now?: () => number;
}

export class IptablesIpsetResponder implements Responder {
  readonly name = 'iptables-ipset';
  private readonly log: Logger;
  private readonly exec: Exec;
  private readonly dryExec: Exec;
  private readonly dryRun: boolean;
  private readonly ports: SipPorts;
  private readonly ipv6: boolean;
  private readonly maxBanMs: number;
  private readonly now: () => number;
  private conntrack: boolean;
  private readonly batcher: InFlightBatcher<IpsetOp>;
  private readonly cutter: ConntrackCutter;

  constructor(opts: IptablesIpsetOptions = {}) {
    this.log = opts.logger ?? pino({ level: opts.dryRun ? 'info' : 'silent' });
    this.dryRun = opts.dryRun ?? false;
    this.dryExec = dryRunExec(this.log, this.name, opts.onDryRun);
    this.exec = this.dryRun ? this.dryExec : withNetns(opts.exec ?? createExec(), opts.netns);
    this.cutter = new ConntrackCutter(this.exec, this.log);
    this.ports = opts.sipPorts ?? DEFAULT_SIP_PORTS;
    checkPorts(this.ports);
    // multiport takes at most 15 ports (a range counts 2).
    if (portCount(this.ports.udp) > 15 || portCount(this.ports.tcp) > 15) throw new Error('too many SIP ports for -m multiport (max 15)');
    this.ipv6 = opts.ipv6 ?? true;
    this.maxBanMs = Math.min(opts.maxBanMs ?? Infinity, IPSET_MAX_TIMEOUT_SEC * 1000);
    this.now = opts.now ?? Date.now;
    this.conntrack = opts.conntrack ?? true;
    this.batcher = new InFlightBatcher<IpsetOp>((ops) => this.runBatch(ops));
  }

  handles(d: Decision): boolean {
    return d.action === 'ban-ip' && typeof d.target.ip === 'string';
  }

  private families(): Array<4 | 6> {
    return this.ipv6 ? [4, 6] : [4];
  }

  private tool(f: 4 | 6): string {
    return f === 4 ? 'iptables' : 'ip6tables';
  }

  async init(): Promise<void> {
    for (const [t, args] of [['ipset', ['--version']], ...this.families().map((f) => [this.tool(f), ['--version']])] as Array<[string, string[]]>) {
      expectOk(t, args, await this.exec(t, args));
    }
    const create = await this.exec('ipset', ['-exist', 'restore'], ipsetCreateBatch());
    expectOk('ipset', ['-exist', 'restore'], create);
    for (const f of this.families()) {
      const restore = `${this.tool(f)}-restore`;
      expectOk(restore, ['-w', '--noflush'], await this.exec(restore, ['-w', '--noflush'], iptablesChainText(f, this.ports)));
      await ensureRawJump(this.exec, f, IPT_CHAIN, this.dryRun);
    }
    if (this.conntrack && !this.dryRun) this.conntrack = await conntrackUsable(this.exec, this.log);
    this.log.info({ ports: this.ports, ipv6: this.ipv6 }, 'iptables+ipset responder ready');
  }

  async apply(d: Decision): Promise<void> {
    const t = banTargetOf(d);
    const timeoutSec = banTimeoutSec(d, this.now(), { maxBanMs: this.maxBanMs });
    if (timeoutSec === null) return;
    const op: IpsetOp = { kind: 'add', set: ipsetSetFor(t), elem: t.elem, timeoutSec };
    if (d.dryRun) {
      await this.dryExec('ipset', ['-exist', 'restore'], renderIpsetOp(op) + '\n');
      return;
    }
    await this.batcher.submit(op);
    // Flow cutting runs behind the ban (a spawn each); flush() waits for it.
    if (this.conntrack && !this.dryRun) this.cutter.cut(t);
  }

  async revoke(d: Decision): Promise<void> {
    const t = banTargetOf(d);
    const sets = t.host ? [ipsetName('ban', t.family), ipsetName('ban-all', t.family)] : [ipsetName('net', t.family)];
    const op: IpsetOp = { kind: 'del', sets, elem: t.elem };
    if (d.dryRun) {
      await this.dryExec('ipset', ['-exist', 'restore'], renderIpsetOp(op) + '\n');
      return;
    }
    await this.batcher.submit(op);
  }

  async flush(): Promise<void> {
    await this.batcher.flush();
    await this.cutter.settled();
  }

  async reconcile(): Promise<ActiveEntry[]> {
    const res = await this.exec('ipset', ['save']);
    expectOk('ipset', ['save'], res);
    return parseIpsetSave(res.stdout).filter((e) => !e.set.startsWith('sipwarden-black'));
  }

  async counters(): Promise<Record<string, { packets: number; bytes: number }>> {
    const out: Record<string, { packets: number; bytes: number }> = {};
    for (const f of this.families()) {
      const tool = `${this.tool(f)}-save`;
      const res = await this.exec(tool, ['-c', '-t', 'raw']);
      expectOk(tool, ['-c', '-t', 'raw'], res);
      Object.assign(out, parseIptablesSaveCounters(res.stdout, IPT_CHAIN));
    }
    return out;
  }

  /** Replace the blacklist atomically: fill a scratch set, swap it in. */
  async setBlacklist(cidrs: readonly string[]): Promise<{ applied: string[]; rejected: Array<{ cidr: string; reason: string }> }> {
    const by: Record<4 | 6, string[]> = { 4: [], 6: [] };
    const rejected: Array<{ cidr: string; reason: string }> = [];
    for (const c of cidrs) {
      const r = validateCidr(c);
      if (!r.ok) {
        rejected.push({ cidr: String(c).slice(0, 80), reason: r.reason });
        continue;
      }
      const why = unbannableReason(r);
      if (why) rejected.push({ cidr: r.cidr, reason: why });
      else by[r.family].push(r.cidr);
    }
    const lines: string[] = [];
    for (const f of [4, 6] as const) {
      const live = ipsetName('black', f);
      const tmp = `${live}-new`;
      lines.push(`create ${tmp} hash:net family ${f === 4 ? 'inet' : 'inet6'}`, `flush ${tmp}`);
      for (const c of by[f]) lines.push(`add ${tmp} ${c}`);
      lines.push(`swap ${tmp} ${live}`, `destroy ${tmp}`);
    }
    expectOk('ipset', ['-exist', 'restore'], await this.exec('ipset', ['-exist', 'restore'], lines.join('\n') + '\n'));
    return { applied: [...by[4], ...by[6]], rejected };
  }

  async shutdown(): Promise<void> {
    await this.flush();
  }

  /** Remove our jump, chain and sets, and nothing else. */
  async uninstall(): Promise<void> {
    await this.shutdown();
    for (const f of this.families()) await removeRawChain(this.exec, f, IPT_CHAIN);
    for (const s of ALL_SETS) await this.exec('ipset', ['-exist', 'destroy', s.name]);
  }

  private async runBatch(ops: readonly IpsetOp[]): Promise<Array<Error | null>> {
    const text = ops.map(renderIpsetOp).join('\n') + '\n';
    const res = await this.exec('ipset', ['-exist', 'restore'], text);
    if (res.code === 0) return ops.map(() => null);
    if (isPermissionFailure(res.stderr)) throw new PermissionError('ipset', res.stderr);
    if (ops.length === 1) return [new CommandFailedError('ipset', ['-exist', 'restore'], res)];
    // ipset restore is not atomic (it stops at the first bad line) but every
    // op is idempotent under -exist, so re-running them one by one is safe.
    this.log.warn({ ops: ops.length, error: res.stderr.split('\n')[0] }, 'ipset batch failed, retrying ops one by one');
    const out: Array<Error | null> = [];
    for (const op of ops) {
      const one = await this.exec('ipset', ['-exist', 'restore'], renderIpsetOp(op) + '\n');
      out.push(one.code === 0 ? null : new CommandFailedError('ipset', ['-exist', 'restore'], one));
    }
    return out;
  }
}
