import { isIP } from 'node:net';
import type { Endpoint, Transport } from '../domain/types.ts';
import { isPlainIpv4, rememberIpv4 } from '../domain/ipv4.ts';
import { detach, detachBytes } from '../domain/detach.ts';

const TRANSPORTS: ReadonlySet<string> = new Set(['UDP', 'TCP', 'TLS', 'WS', 'WSS']);
/** Longest address text parsed; anything longer is not an address. */
export const MAX_ADDRESS = 80;

/**
 * Parses Asterisk's `IPV4|IPV6/<transport>/<address>/<port>`. IPv6 comes
 * without brackets, so the port is whatever follows the last slash.
 * Returns null for anything that does not parse: the caller counts it.
 */
export function parseAmiAddress(text: string): Endpoint | null {
  if (text.length > MAX_ADDRESS) return null;
  const first = text.indexOf('/');
  const second = first < 0 ? -1 : text.indexOf('/', first + 1);
  const last = text.lastIndexOf('/');
  if (first < 0 || second < 0 || last <= second) return null;
  const fam = text.slice(0, first);
  const transport = text.slice(first + 1, second).toUpperCase();
  const ip = text.slice(second + 1, last);
  const portText = text.slice(last + 1);
  if (!TRANSPORTS.has(transport)) return null;
  const port = portOf(portText);
  if (port < 0 || port > 65535) return null;
  const family = fam === 'IPV4' && isPlainIpv4(ip) ? 4 : isIP(ip);
  if (family === 4 && fam === 'IPV4') return { family: 4, transport: transport as Transport, ip: detach(ip), port };
  if (family === 6 && fam === 'IPV6') {
    // IPv4-mapped IPv6 is the IPv4 host as far as bans go.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped?.[1] && isIP(mapped[1]) === 4) return { family: 4, transport: transport as Transport, ip: mapped[1], port };
    return { family: 6, transport: transport as Transport, ip: detach(ip.toLowerCase()), port };
  }
  return null;
}

/** `^\d{1,5}$` as a number, else -1 (no regex on the hot path). */
function portOf(text: string): number {
  const n = text.length;
  if (n < 1 || n > 5) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}


const TRANSPORT_AT: readonly Transport[] = ['UDP', 'TCP', 'TLS', 'WSS', 'WS'];

/**
 * parseAmiAddress of the text at bytes [start, end) of an ASCII chunk, for the common
 * `IPV4/<TRANSPORT>/<a.b.c.d>/<port>` form, read from the bytes (a byte read costs
 * less than half a charCodeAt); only the address is made into a string, from
 * `text`, whose char i is byte `i + delta`. Returns undefined when the text is
 * anything else, and the caller falls back to parseAmiAddress, so results never differ.
 */
export function parseIpv4AddressAt(b: DataView, start: number, end: number, text: string, delta: number): Endpoint | undefined {
  if (end - start > MAX_ADDRESS || end - start < 17 || end > b.byteLength) return undefined;
  // `IPV4/` as one word and a byte.
  if (b.getUint32(start, true) !== 0x34565049 || b.getUint8(start + 4) !== 0x2f) return undefined;
  let pos = start + 5;
  let transport: Transport | undefined;
  // UDP first: nearly every attack comes over it.
  if (b.getUint32(pos, true) === 0x2f504455) transport = 'UDP';
  else for (const t of TRANSPORT_AT) {
    let ok = true;
    for (let i = 0; i < t.length && ok; i++) ok = b.getUint8(pos + i) === t.charCodeAt(i);
    if (ok && b.getUint8(pos + t.length) === 0x2f) {
      transport = t;
      break;
    }
  }
  if (transport === undefined) return undefined;
  pos += transport.length + 1;
  const ipStart = pos;
  let n = 0;
  // Four octets, 0-255, no leading zeros (what net.isIPv4 accepts).
  for (let part = 0; part < 4; part++) {
    const first = pos;
    let v = 0;
    while (pos < end) {
      const c = b.getUint8(pos) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      pos++;
    }
    const len = pos - first;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && b.getUint8(first) === 48)) return undefined;
    if (pos >= end || b.getUint8(pos) !== (part < 3 ? 0x2e : 0x2f)) return undefined;
    n = n * 256 + v;
    pos++;
  }
  const ipEnd = pos - 1;
  let port = 0;
  const portStart = pos;
  for (; pos < end; pos++) {
    const c = b.getUint8(pos) - 48;
    if (c < 0 || c > 9) return undefined;
    port = port * 10 + c;
  }
  if (pos - portStart < 1 || pos - portStart > 5 || port > 65535) return undefined;
  const ip = detachBytes(b, ipStart, ipEnd, text, delta);
  // The detectors key IPv4 sources by this integer: they need not parse the text again.
  rememberIpv4(ip, n);
  return { family: 4, transport, ip, port };
}
