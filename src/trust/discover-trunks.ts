import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AmiFrame } from '../domain/types.ts';
import { header } from '../sources/ami/framer.ts';

export interface TrustedEntry {
  readonly cidr: string;
  readonly why: string;
}

/** What discovery needs from the AMI client: one list action. */
export type ListAction = (fields: Record<string, string>) => Promise<{ ok: boolean; events: readonly AmiFrame[] }>;

function maskToPrefix(mask: string): number | null {
  if (/^\d{1,3}$/.test(mask)) return Number(mask);
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return null;
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const prefix = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : null;
}

/**
 * `Match:` of an IdentifyDetail: comma-separated `ip/mask`, `ip/prefix`, bare
 * IPs or host names (Asterisk resolves those itself, so do we).
 */
export function parseIdentifyMatch(match: string): { cidrs: string[]; hosts: string[] } {
  const cidrs: string[] = [];
  const hosts: string[] = [];
  for (const raw of match.split(',')) {
    const item = raw.trim().replace(/^!/, '');
    if (!item) continue;
    const [addr = '', mask] = item.split('/');
    const fam = isIP(addr);
    if (fam === 0) {
      if (/^[A-Za-z0-9.-]{1,253}$/.test(addr)) hosts.push(addr);
      continue;
    }
    const prefix = mask === undefined ? (fam === 4 ? 32 : 128) : maskToPrefix(mask);
    if (prefix !== null) cidrs.push(`${addr}/${prefix}`);
  }
  return { cidrs, hosts };
}

/** Host of a SIP URI such as `sip:user@provider.example:5060;transport=udp`. */
export function sipUriHost(uri: string): string | null {
  const m = /^sips?:(?:[^@]*@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)/.exec(uri.trim());
  if (!m?.[1]) return null;
  return m[1].replace(/^\[|\]$/g, '');
}

async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/**
 * Reads the trunks' addresses from Asterisk: the identify `Match` entries of
 * every endpoint and the hosts of outbound registrations. Spoofed failures
 * "from" a trunk must never get it banned, so these join the never-ban list.
 */
export async function discoverTrunks(action: ListAction, opts: { maxEndpoints?: number; resolve?: (host: string) => Promise<string[]> } = {}): Promise<{ entries: TrustedEntry[]; problems: string[] }> {
  const resolve = opts.resolve ?? resolveAll;
  const entries: TrustedEntry[] = [];
  const problems: string[] = [];
  const add = (cidr: string, why: string) => {
    if (!entries.some((e) => e.cidr === cidr)) entries.push({ cidr, why });
  };
  const addHost = async (host: string, why: string) => {
    const ips = await resolve(host);
    if (ips.length === 0) problems.push(`cannot resolve ${host} (${why})`);
    for (const ip of ips) add(`${ip}/${isIP(ip) === 4 ? 32 : 128}`, `${why} (${host})`);
  };

  const list = await action({ Action: 'PJSIPShowEndpoints' });
  const names = list.events.filter((f) => header(f, 'Event') === 'EndpointList').map((f) => header(f, 'ObjectName') ?? '').filter(Boolean);
  for (const name of names.slice(0, opts.maxEndpoints ?? 2000)) {
    let detail;
    try {
      detail = await action({ Action: 'PJSIPShowEndpoint', Endpoint: name });
    } catch (err) {
      problems.push(`PJSIPShowEndpoint ${name}: ${(err as Error).message}`);
      continue;
    }
    for (const f of detail.events) {
      if (header(f, 'Event') !== 'IdentifyDetail') continue;
      const { cidrs, hosts } = parseIdentifyMatch(header(f, 'Match') ?? '');
      const why = `trunk ${header(f, 'Endpoint') ?? name} (identify match)`;
      for (const c of cidrs) add(c, why);
      for (const h of hosts) await addHost(h, why);
    }
  }

  try {
    const regs = await action({ Action: 'PJSIPShowRegistrationsOutbound' });
    for (const f of regs.events) {
      if (header(f, 'Event') !== 'OutboundRegistrationDetail') continue;
      const why = `trunk registration ${header(f, 'ObjectName') ?? '?'}`;
      for (const key of ['ServerUri', 'OutboundProxy']) {
        const host = sipUriHost(header(f, key) ?? '');
        if (host) await addHost(host, why);
      }
    }
  } catch (err) {
    problems.push(`PJSIPShowRegistrationsOutbound: ${(err as Error).message}`);
  }
  return { entries, problems };
}

/**
 * The trunks to trust after a discovery: those found now, and those found
 * before. A restarted Asterisk answers AMI before PJSIP has loaded its
 * endpoints, so a discovery on reconnect can come back empty; a trunk that
 * dropped out of it would lose its protection while an attacker spoofs it.
 * A trunk removed from Asterisk stays trusted until sipwarden restarts.
 */
export function keepTrusted(before: readonly TrustedEntry[], found: readonly TrustedEntry[]): TrustedEntry[] {
  const seen = new Set(found.map((e) => e.cidr));
  return [...found, ...before.filter((e) => !seen.has(e.cidr))];
}
