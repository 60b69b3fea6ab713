import type { GroupBy, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import { ipv4ToInt } from '../domain/ipv4.ts';
import { ipv6Words } from '../domain/ipv6.ts';

/** The network prefix of an address, as CIDR text: the key of subnet rules. */
export function subnetOf(ip: string, family: 4 | 6, prefixV4 = 24, prefixV6 = 64): string {
  if (family === 4) {
    if (prefixV4 === 24) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`; // the common case, without parsing
    const p = ip.split('.').map(Number);
    const n = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
    const mask = prefixV4 === 0 ? 0 : (0xffffffff << (32 - prefixV4)) >>> 0;
    const m = (n & mask) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${prefixV4}`;
  }
  const groups = expandV6(ip);
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefixV6 - i * 16));
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    out.push(((groups[i]! & mask) >>> 0).toString(16));
  }
  return `${out.join(':')}/${prefixV6}`;
}

function expandV6(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16) || 0);
}

export function groupKey(ev: SecurityEvent, groupBy: GroupBy, prefixV4?: number, prefixV6?: number): string {
  switch (groupBy) {
    case 'ip':
      return ev.remote.ip;
    case 'account':
      return ev.account;
    case 'subnet':
      return subnetOf(ev.remote.ip, ev.remote.family, prefixV4, prefixV6);
    case 'ip+account':
      return `${ev.remote.ip} ${ev.account}`;
  }
}

/** Rules with the same id here group events under the same keys, so they share a key table. */
export function groupId(rule: DetectionRule): string {
  return rule.groupBy === 'subnet' ? `subnet/${rule.prefixV4 ?? 24}/${rule.prefixV6 ?? 64}` : rule.groupBy;
}

/**
 * How a grouping finds its key: `num` gives the integer index key of IPv4
 * sources and networks (-1 for anything else), `key` the text key, which for
 * an integer-indexed key is only built when the key is new.
 */
export interface KeyOf {
  readonly num: (ev: SecurityEvent) => number;
  readonly key: (ev: SecurityEvent) => string;
  /**
   * IPv6 sources and networks as 128 bits in out[0..3]: true, and the table
   * keeps no string for the key; false: keyed by `key`.
   */
  readonly wide: (ev: SecurityEvent, out: Int32Array) => boolean;
}

const NO_NUM = (): number => -1;
const NO_WIDE = (): boolean => false;

export function keyOfRule(rule: DetectionRule): KeyOf {
  switch (rule.groupBy) {
    case 'ip':
      return {
        num: (ev) => (ev.remote.family === 4 ? ipv4ToInt(ev.remote.ip) : -1),
        key: (ev) => ev.remote.ip,
        wide: (ev, out) => ev.remote.family === 6 && ipv6Words(ev.remote.ip, out),
      };
    case 'account':
      return { num: NO_NUM, key: (ev) => ev.account, wide: NO_WIDE };
    case 'subnet': {
      const p = rule.prefixV4 ?? 24;
      const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      const p6 = rule.prefixV6 ?? 64;
      return {
        num: (ev) => {
          if (ev.remote.family !== 4) return -1;
          const n = ipv4ToInt(ev.remote.ip);
          return n < 0 ? -1 : (n & mask) >>> 0;
        },
        key: (ev) => groupKey(ev, 'subnet', rule.prefixV4, rule.prefixV6),
        wide: (ev, out) => {
          if (ev.remote.family !== 6 || !ipv6Words(ev.remote.ip, out)) return false;
          // The network: the address with the bits past the prefix cleared.
          for (let w = 0; w < 4; w++) {
            const bits = Math.max(0, Math.min(32, p6 - 32 * w));
            out[w] = bits === 0 ? 0 : bits === 32 ? out[w]! : out[w]! & (0xffffffff << (32 - bits));
          }
          return true;
        },
      };
    }
    default:
      return { num: NO_NUM, key: (ev) => groupKey(ev, rule.groupBy, rule.prefixV4, rule.prefixV6), wide: NO_WIDE };
  }
}
