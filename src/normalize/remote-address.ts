import { isIP } from 'node:net';
import type { Endpoint, Transport } from '../domain/types.ts';

const TRANSPORTS: ReadonlySet<string> = new Set(['UDP', 'TCP', 'TLS', 'WS', 'WSS']);

/**
 * Parses Asterisk's `IPV4|IPV6/<transport>/<address>/<port>`. IPv6 comes
 * without brackets, so the port is whatever follows the last slash.
 * Returns null for anything that does not parse: the caller counts it.
 */
export function parseAmiAddress(text: string): Endpoint | null {
  if (text.length > 80) return null;
  const first = text.indexOf('/');
  const second = first < 0 ? -1 : text.indexOf('/', first + 1);
  const last = text.lastIndexOf('/');
  if (first < 0 || second < 0 || last <= second) return null;
  const fam = text.slice(0, first);
  const transport = text.slice(first + 1, second).toUpperCase();
  const ip = text.slice(second + 1, last);
  const portText = text.slice(last + 1);
  if (!TRANSPORTS.has(transport)) return null;
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  const family = isIP(ip);
  if (family === 4 && fam === 'IPV4') return { family: 4, transport: transport as Transport, ip, port };
  if (family === 6 && fam === 'IPV6') {
    // IPv4-mapped IPv6 is the IPv4 host as far as bans go.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped?.[1] && isIP(mapped[1]) === 4) return { family: 4, transport: transport as Transport, ip: mapped[1], port };
    return { family: 6, transport: transport as Transport, ip: ip.toLowerCase(), port };
  }
  return null;
}
