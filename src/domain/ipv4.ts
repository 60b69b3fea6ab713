// The last address parsed (or handed over by the normalizer, which has just read it):
// every IPv4 grouping of the detectors asks for the same address in turn.
let lastIp = '';
let lastInt = -1;

/** Records that `ip` is the address `n` (the caller parsed it). */
export function rememberIpv4(ip: string, n: number): void {
  lastIp = ip;
  lastInt = n;
}

/** A dotted-quad IPv4 address as a uint32, or -1 (anything else: IPv6, junk). */
export function ipv4ToInt(ip: string): number {
  if (ip === lastIp) return lastInt;
  const v = parseIpv4(ip);
  lastIp = ip;
  lastInt = v;
  return v;
}

function parseIpv4(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || ++digits > 3) return -1;
      part = part * 10 + d;
      if (part > 255) return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return out * 256 + part;
}

/**
 * True only for what net.isIPv4 accepts (four decimal octets 0-255, no
 * leading zeros); a false here falls back to isIP, so results never differ.
 */
export function isPlainIpv4(ip: string): boolean {
  const n = ip.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let i = 0;
  while (i <= n) {
    let v = 0;
    let len = 0;
    const start = i;
    while (i < n) {
      const c = ip.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      len++;
      i++;
    }
    if (len === 0 || len > 3 || v > 255 || (len > 1 && ip.charCodeAt(start) === 48)) return false;
    parts++;
    if (i === n) return parts === 4;
    if (ip.charCodeAt(i) !== 0x2e || parts === 4) return false;
    i++;
  }
  return false;
}
