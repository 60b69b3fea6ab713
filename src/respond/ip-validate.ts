// Strict address checks before anything reaches a firewall command. The text
// comes from AMI events, i.e. from the attacker; nft even resolves host names
// it does not parse as addresses, so only canonical literals may pass.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;
export type IpResult = { ok: true; ip: string; family: IpFamily } | { ok: false; reason: string };
export type CidrResult =
  | { ok: true; cidr: string; network: string; prefix: number; family: IpFamily }
  | { ok: false; reason: string };

// Longest legal literal: full v6 with a dotted v4 tail is 45 chars.
const MAX_IP_LEN = 45;
const V4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V6_CHARS_RE = /^[0-9A-Fa-f:.]+$/;

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Parse a v6 literal (already accepted by isIPv6) into 8 16-bit groups. */
function v6Groups(s: string): number[] | null {
  let head = s;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!V4_RE.test(last)) return null;
    const o = last.split('.').map(Number) as [number, number, number, number];
    tail.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
    head = s.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "a:b::1.2.3.4" leaves "a:b::"; "a::b:1.2.3.4" leaves "a::b:".
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const dbl = head.indexOf('::');
  let groups: number[];
  if (dbl >= 0) {
    const l = parse(head.slice(0, dbl));
    const r = parse(head.slice(dbl + 2));
    if (!l || !r) return null;
    const fill = 8 - tail.length - l.length - r.length;
    if (fill < 1) return null;
    groups = [...l, ...new Array<number>(fill).fill(0), ...r, ...tail];
  } else {
    const all = parse(head);
    if (!all) return null;
    groups = [...all, ...tail];
  }
  return groups.length === 8 ? groups : null;
}

/** RFC 5952 text: lowercase, no leading zeros, longest (first) run of >= 2 zero groups as "::". */
function v6Format(g: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: readonly number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

function mappedV4(g: readonly number[]): string | null {
  // ::ffff:a.b.c.d — a v4 peer on a dual-stack socket; the kernel sees it as v4.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const a = g[6] as number;
    const b = g[7] as number;
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return null;
}

/** Validate and canonicalise one address. Anything not a plain literal is refused. */
export function validateIp(s: unknown): IpResult {
  if (typeof s !== 'string') return fail('not a string');
  if (s.length === 0) return fail('empty');
  if (s.length > MAX_IP_LEN) return fail('too long for an IP address');
  if (s.includes('%')) return fail('zone ids are not accepted');
  if (s.includes(':')) {
    if (!V6_CHARS_RE.test(s)) return fail('invalid characters in IPv6 address');
    if (!isIPv6(s)) return fail('not an IPv6 address');
    const g = v6Groups(s);
    if (!g) return fail('not an IPv6 address');
    const v4 = mappedV4(g);
    if (v4 !== null) return { ok: true, ip: v4, family: 4 };
    return { ok: true, ip: v6Format(g), family: 6 };
  }
  if (!V4_RE.test(s)) {
    return fail(/^[\d.]+$/.test(s) ? 'not a dotted-quad IPv4 address (leading zeros are ambiguous)' : 'invalid characters in IPv4 address');
  }
  // Belt and braces: node's own parser must agree.
  if (!isIPv4(s)) return fail('not an IPv4 address');
  return { ok: true, ip: s, family: 4 };
}

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}
function intToV4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Validate "addr/len" (or a bare address = host prefix). Host bits are masked
 * off so the result is the canonical network ("198.18.1.7/24" -> "198.18.1.0/24").
 */
export function validateCidr(s: unknown): CidrResult {
  if (typeof s !== 'string') return fail('not a string');
  if (s.length > MAX_IP_LEN + 4) return fail('too long for a CIDR');
  if (!/^[0-9A-Fa-f:./]+$/.test(s)) return fail('invalid characters in CIDR');
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const lenText = slash < 0 ? undefined : s.slice(slash + 1);
  if (lenText !== undefined && !/^(?:0|[1-9]\d{0,2})$/.test(lenText)) return fail('invalid prefix length');
  const ip = validateIp(addrText);
  if (!ip.ok) return ip;
  const wasMapped = ip.family === 4 && addrText.includes(':');
  let prefix = lenText === undefined ? (ip.family === 4 ? 32 : 128) : Number(lenText);
  if (wasMapped && lenText !== undefined) {
    if (prefix < 96 || prefix > 128) return fail('prefix of an IPv4-mapped network must be 96..128');
    prefix -= 96;
  }
  if (ip.family === 4) {
    if (prefix > 32) return fail('IPv4 prefix must be 0..32');
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const network = intToV4((v4ToInt(ip.ip) & mask) >>> 0);
    return { ok: true, cidr: `${network}/${prefix}`, network, prefix, family: 4 };
  }
  if (prefix > 128) return fail('IPv6 prefix must be 0..128');
  const g = v6Groups(ip.ip) as number[];
  const masked = g.map((x, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    return bits === 0 ? 0 : x & ((0xffff << (16 - bits)) & 0xffff);
  });
  const network = v6Format(masked);
  return { ok: true, cidr: `${network}/${prefix}`, network, prefix, family: 6 };
}

/** Expanded v6 mask / dotted v4 mask for a prefix (conntrack --mask-src). */
export function prefixMask(family: IpFamily, prefix: number): string {
  if (family === 4) return intToV4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
  const g = Array.from({ length: 8 }, (_, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  });
  return g.map((x) => x.toString(16)).join(':');
}

/**
 * Addresses no ban may ever cover: banning them would cut the host off from
 * itself or match nothing real. Policy has its own allow-list; this is the
 * last line.
 */
export function unbannableReason(c: { network: string; prefix: number; family: IpFamily }): string | null {
  if (c.family === 4) {
    const n = v4ToInt(c.network);
    const first = n >>> 24;
    if (c.prefix < 8) return 'prefix too wide (< /8)';
    if (first === 0) return 'unspecified/"this network" range';
    if (first === 127) return 'loopback';
    if (first >= 224) return 'multicast/reserved/broadcast';
    return null;
  }
  if (c.prefix < 16) return 'prefix too wide (< /16)';
  const g = v6Groups(c.network) as number[];
  if (c.network === '::' || (c.prefix === 128 && c.network === '::1')) return 'unspecified/loopback';
  if (((g[0] as number) & 0xff00) === 0xff00) return 'multicast';
  if (((g[0] as number) & 0xffc0) === 0xfe80) return 'link-local';
  return null;
}
