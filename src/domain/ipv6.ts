// The 128 bits of an IPv6 address as four 32-bit words, for the detectors'
// integer-keyed tables. Anything unusual (an embedded IPv4 tail, a zone id)
// is refused, and the caller keys that address by its text as before.

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

// The last address read: every IPv6 grouping of the detectors asks for the same one in turn.
let lastIp = '';
let lastOk = false;
const last = new Int32Array(4);
const groups = new Int32Array(8);
const full = new Int32Array(8);

/** Writes the address into out[at .. at+3] (big-endian words) and returns true; false if it is not plain hex groups. */
export function ipv6Words(ip: string, out: Int32Array, at = 0): boolean {
  if (ip !== lastIp) {
    lastIp = ip;
    lastOk = parse(ip);
  }
  if (lastOk) {
    out[at] = last[0]!;
    out[at + 1] = last[1]!;
    out[at + 2] = last[2]!;
    out[at + 3] = last[3]!;
  }
  return lastOk;
}

function parse(ip: string): boolean {
  const n = ip.length;
  if (n < 2 || n > 39) return false;
  let count = 0; // groups read
  let gap = -1; // where `::` was, in groups
  let i = 0;
  if (ip.charCodeAt(0) === 0x3a) {
    if (ip.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
    if (i === n) return fill(count, gap);
  }
  for (;;) {
    let v = 0;
    let digits = 0;
    while (i < n) {
      const c = ip.charCodeAt(i);
      const h = c < 128 ? HEX[c]! : -1;
      if (h < 0) break;
      v = v * 16 + h;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0 || count === 8) return false;
    groups[count++] = v;
    if (i === n) break;
    if (ip.charCodeAt(i) !== 0x3a) return false; // a dot (IPv4 tail), a zone id, anything else
    i++;
    if (i < n && ip.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) return false;
  }
  return fill(count, gap);
}

/** Expands the groups read (with the `::` at `gap`) into `last`. */
function fill(count: number, gap: number): boolean {
  if (gap < 0 ? count !== 8 : count > 7) return false;
  full.fill(0);
  if (gap < 0) for (let k = 0; k < 8; k++) full[k] = groups[k]!;
  else {
    for (let k = 0; k < gap; k++) full[k] = groups[k]!;
    const tail = count - gap;
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k]!;
  }
  for (let w = 0; w < 4; w++) last[w] = ((full[2 * w]! << 16) | full[2 * w + 1]!) | 0;
  return true;
}
