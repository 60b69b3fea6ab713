import { BlockList, isIP } from 'node:net';
import { ipv4ToInt } from '../domain/ipv4.ts';

export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly network: string;
  readonly prefix: number;
}

/** Parses `a.b.c.d`, `a.b.c.d/nn`, `v6` or `v6/nn`; returns the reason on failure. */
export function parseCidr(s: string): Cidr | string {
  if (typeof s !== 'string' || s.length > 64 || /[^0-9a-fA-F.:/]/.test(s)) return `"${String(s).slice(0, 64)}" is not an IP address or CIDR`;
  const [addr = '', pfx, more] = s.split('/');
  if (more !== undefined) return `"${s}" is not an IP address or CIDR`;
  const family = isIP(addr);
  if (family === 0) return `"${s}" is not an IP address or CIDR`;
  if (family === 4 && /(^|\.)0\d/.test(addr)) return `"${s}" has a leading zero (ambiguous octal)`;
  const max = family === 4 ? 32 : 128;
  if (pfx !== undefined && !/^\d{1,3}$/.test(pfx)) return `"${s}" has a bad prefix length`;
  const prefix = pfx === undefined ? max : Number(pfx);
  if (prefix > max) return `"${s}" prefix length must be at most ${max}`;
  const network = family === 6 ? addr.toLowerCase() : addr;
  return { text: `${network}/${prefix}`, family: family as 4 | 6, network, prefix };
}

/** A set of CIDRs (IPv4 and IPv6) answering "does this address fall in it?". */
export class CidrSet {
  private list = new BlockList();
  private readonly entries: string[] = [];
  /**
   * IPv4 entries as [network, mask, address as written, prefix] numbers:
   * IPv4 checks without a SocketAddress each.
   */
  private readonly v4: number[] = [];
  /** An IPv6 entry covers IPv4-mapped addresses, which BlockList matches IPv4 addresses against. */
  private v6MapsV4 = false;

  constructor(cidrs: Iterable<string> = []) {
    for (const c of cidrs) this.add(c);
  }

  add(cidr: string): boolean {
    const p = parseCidr(cidr);
    if (typeof p === 'string') return false;
    this.list.addSubnet(p.network, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
    this.entries.push(p.text);
    if (p.family === 4) {
      const mask = maskOf(p.prefix);
      const addr = ipv4ToInt(p.network);
      this.v4.push((addr & mask) >>> 0, mask, addr, p.prefix);
    } else if (coversMappedV4(p)) {
      this.v6MapsV4 = true;
    }
    return true;
  }

  has(ip: string): boolean {
    const fam = isIP(ip);
    if (fam === 0) return false;
    if (fam === 4) return this.hasIpv4(ip, ipv4ToInt(ip));
    return this.list.check(ip, 'ipv6');
  }

  /**
   * has() for an address known to be a valid dotted quad, `n` its uint32 (the
   * policy's path for every source: no isIP on it again).
   */
  hasIpv4(ip: string, n: number): boolean {
    const v4 = this.v4;
    for (let i = 0; i < v4.length; i += 4) if (((n & v4[i + 1]!) >>> 0) === v4[i]) return true;
    return this.v6MapsV4 && this.list.check(ip, 'ipv4');
  }

  /** True when any address of `cidr` is in the set (a range ban must not cover a whitelisted host). */
  overlaps(cidr: string): boolean {
    const p = parseCidr(cidr);
    if (typeof p === 'string') return false;
    if (p.family === 4 && !this.v6MapsV4) {
      // An entry holds the range's address, or the range holds an entry at least as narrow.
      const addr = ipv4ToInt(p.network);
      const mask = maskOf(p.prefix);
      const v4 = this.v4;
      for (let i = 0; i < v4.length; i += 4) {
        if (((addr & v4[i + 1]!) >>> 0) === v4[i]) return true;
        if (v4[i + 3]! >= p.prefix && ((v4[i + 2]! & mask) >>> 0) === ((addr & mask) >>> 0)) return true;
      }
      return false;
    }
    if (this.has(p.network)) return true;
    for (const e of this.entries) {
      const q = parseCidr(e);
      if (typeof q !== 'string' && q.family === p.family && q.prefix >= p.prefix && new CidrSet([p.text]).has(q.network)) return true;
    }
    return false;
  }

  get size(): number {
    return this.entries.length;
  }

  toArray(): readonly string[] {
    return this.entries;
  }
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

const MAPPED_V4 = new BlockList();
MAPPED_V4.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Does the IPv6 range share an address with ::ffff:0:0/96? */
function coversMappedV4(p: Cidr): boolean {
  if (p.prefix > 96) return MAPPED_V4.check(p.network, 'ipv6');
  const one = new BlockList();
  one.addSubnet(p.network, p.prefix, 'ipv6');
  return one.check('::ffff:0:0', 'ipv6');
}
