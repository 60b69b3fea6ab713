// Drop SIP packets from known scanners by a payload string. No security
// event carries the User-Agent and nft has no string match, so this is
// iptables `-m string` (iptables-nft on Debian 12 drives it through nft's
// xt compat). Chain SIPWARDEN-SCANNERS in raw/PREROUTING: before conntrack,
// so scanner probes don't even create conntrack entries.
//
// We match the UA *value* only (case-insensitive), not "User-Agent: X":
// header spacing varies ("User-Agent:X"), and the same tools also put the
// name elsewhere (svmap's From display name "sipvicious"). The price is that
// a short token (iWar) can match an innocent payload containing it;
// configure the list if that bites. TLS on 5061 is encrypted: no match there.
import { pino, type Logger } from 'pino';
import { DEFAULT_SIP_PORTS, checkPorts, multiPorts, type SipPorts } from './ban-target.ts';
import { dryRunExec, type DryRunRecord } from './dry-run-exec.ts';
import { ensureRawJump, iptTool, removeRawChain } from './iptables-util.ts';
import { createExec, expectOk, withNetns, type Exec } from './run-command.ts';

export const SCANNER_CHAIN = 'SIPWARDEN-SCANNERS';
export const DEFAULT_SCANNER_UAS: readonly string[] = [
  'friendly-scanner',
  'sipvicious',
  'sundayddr',
  'VaxSIPUserAgent',
  'sipcli',
  'SIVuS',
  'VoIPER',
  'iWar',
  'sip-scan',
];
const COMMENT_PREFIX = 'sipwarden-ua:';

export type UaResult = { ok: true; ua: string } | { ok: false; reason: string };

/** Printable ASCII, no quotes/backslash/backtick, no edge spaces, 1..64 chars. */
export function validateUserAgent(s: unknown): UaResult {
  if (typeof s !== 'string') return { ok: false, reason: 'not a string' };
  if (s.length === 0 || s.length > 64) return { ok: false, reason: 'length must be 1..64' };
  if (!/^[\x20-\x7e]+$/.test(s)) return { ok: false, reason: 'only printable ASCII is allowed' };
  if (/["'\\`]/.test(s)) return { ok: false, reason: 'quotes, backslash and backtick are not allowed' };
  if (s.trim() !== s) return { ok: false, reason: 'leading/trailing spaces are not allowed' };
  return { ok: true, ua: s };
}

/** iptables-restore --noflush text for one family: declares (flushes) our chain and fills it. */
export function scannerChainText(uas: readonly string[], ports: SipPorts): string {
  const lines = ['*raw', `:${SCANNER_CHAIN} - [0:0]`];
  for (const ua of uas) {
    for (const proto of ['udp', 'tcp'] as const) {
      if (ports[proto].length === 0) continue;
      lines.push(
        `-A ${SCANNER_CHAIN} -p ${proto} -m multiport --dports ${multiPorts(ports[proto])} ` +
          `-m string --string "${ua}" --algo bm --icase -m comment --comment "${COMMENT_PREFIX}${ua}" -j DROP`,
      );
    }
  }
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** Sum `iptables-save -c` counters of our chain per UA. */
export function parseScannerCounters(text: string, into: Record<string, { packets: number; bytes: number }> = {}): Record<string, { packets: number; bytes: number }> {
  for (const line of text.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A (\S+) .*--comment (?:"sipwarden-ua:([^"]*)"|sipwarden-ua:(\S+))/.exec(line);
    if (!m || m[3] !== SCANNER_CHAIN) continue;
    const ua = (m[4] ?? m[5]) as string;
    const c = (into[ua] ??= { packets: 0, bytes: 0 });
    c.packets += Number(m[1]);
    c.bytes += Number(m[2]);
  }
  return into;
}

export interface ScannerDropOptions {
  readonly exec?: Exec;
  readonly netns?: string;
  readonly dryRun?: boolean;
  readonly onDryRun?: (r: DryRunRecord) => void;
  readonly logger?: Logger;
  /** Extra User-Agents, added to the defaults. */
  readonly userAgents?: readonly string[];
  /** Use only `userAgents`, without the defaults. */
  readonly replaceDefaults?: boolean;
  readonly sipPorts?: SipPorts;
  readonly ipv6?: boolean;
}

export class ScannerDrop {
  readonly name = 'scanner-drop';
  private readonly log: Logger;
  private readonly exec: Exec;
  private readonly dryRun: boolean;
  private readonly ports: SipPorts;
  private readonly families: Array<4 | 6>;
  /** The validated list that was (or will be) installed. */
  readonly userAgents: readonly string[];
  readonly rejected: ReadonlyArray<{ ua: string; reason: string }>;

  constructor(opts: ScannerDropOptions = {}) {
    this.log = opts.logger ?? pino({ level: opts.dryRun ? 'info' : 'silent' });
    this.dryRun = opts.dryRun ?? false;
    this.exec = this.dryRun ? dryRunExec(this.log, this.name, opts.onDryRun) : withNetns(opts.exec ?? createExec(), opts.netns);
    this.ports = opts.sipPorts ?? DEFAULT_SIP_PORTS;
    checkPorts(this.ports);
    this.families = (opts.ipv6 ?? true) ? [4, 6] : [4];
    const wanted = [...(opts.replaceDefaults ? [] : DEFAULT_SCANNER_UAS), ...(opts.userAgents ?? [])];
    const seen = new Set<string>();
    const ok: string[] = [];
    const bad: Array<{ ua: string; reason: string }> = [];
    for (const w of wanted) {
      const r = validateUserAgent(w);
      if (!r.ok) {
        bad.push({ ua: JSON.stringify(String(w)).slice(0, 80), reason: r.reason });
        continue;
      }
      // --icase: "SIVuS" and "sivus" are the same rule.
      if (seen.has(r.ua.toLowerCase())) continue;
      seen.add(r.ua.toLowerCase());
      ok.push(r.ua);
    }
    this.userAgents = ok;
    this.rejected = bad;
  }

  /** Idempotent: re-running replaces our chain's rules and keeps a single jump. */
  async init(): Promise<void> {
    if (this.rejected.length > 0) this.log.warn({ rejected: this.rejected }, 'scanner User-Agents refused');
    for (const f of this.families) {
      const tool = `${iptTool(f)}-restore`;
      expectOk(tool, ['-w', '--noflush'], await this.exec(tool, ['-w', '--noflush'], scannerChainText(this.userAgents, this.ports)));
      await ensureRawJump(this.exec, f, SCANNER_CHAIN, this.dryRun);
    }
    this.log.info({ userAgents: this.userAgents }, 'scanner drop installed');
  }

  /** Packets/bytes dropped per User-Agent (UDP+TCP, v4+v6 summed). */
  async counters(): Promise<Record<string, { packets: number; bytes: number }>> {
    const out: Record<string, { packets: number; bytes: number }> = {};
    for (const f of this.families) {
      const tool = `${iptTool(f)}-save`;
      const res = await this.exec(tool, ['-c', '-t', 'raw']);
      expectOk(tool, ['-c', '-t', 'raw'], res);
      parseScannerCounters(res.stdout, out);
    }
    return out;
  }

  /** Rules stay in the kernel when sipwarden stops: nothing to do. */
  async shutdown(): Promise<void> {}

  /** Remove our jump and chain only. */
  async uninstall(): Promise<void> {
    for (const f of this.families) await removeRawChain(this.exec, f, SCANNER_CHAIN);
  }
}
