// Strings of their own: V8 makes a slice of 13+ chars a view into its parent, so a
// value kept from a frame (a detector key, a sample) would keep the whole chunk
// of AMI text it was read from alive.

/**
 * A copy of `s` that does not keep its parent alive: an address outlives its
 * event as a detector key, and a million keys would hold a million chunks.
 * Shorter strings are copied by slice() already.
 */
export function detach(s: string): string {
  return detachAt(s, 0, s.length);
}

/**
 * detach(text.slice(start, end)) without the slice. Up to 16 characters (every
 * IPv4 address, most account names) one fromCharCode call makes the flat
 * string: about a third of what the join costs.
 */
export function detachAt(text: string, start: number, end: number): string {
  const n = end - start;
  if (n < 13) return text.slice(start, end);
  if (n > 16) {
    // join builds one flat string; (' ' + s).slice(1) left a slice of a flat copy, two objects.
    const s = text.slice(start, end);
    return [s.charAt(0), s.slice(1)].join('');
  }
  const t = text;
  const s = start;
  // Past the end of the text charCodeAt gives NaN, which flat() leaves unused.
  return flat(n, t.charCodeAt(s), t.charCodeAt(s + 1), t.charCodeAt(s + 2), t.charCodeAt(s + 3), t.charCodeAt(s + 4), t.charCodeAt(s + 5), t.charCodeAt(s + 6), t.charCodeAt(s + 7),
    t.charCodeAt(s + 8), t.charCodeAt(s + 9), t.charCodeAt(s + 10), t.charCodeAt(s + 11), t.charCodeAt(s + 12), t.charCodeAt(s + 13), t.charCodeAt(s + 14), t.charCodeAt(s + 15));
}

/**
 * detachAt(text, start - delta, end - delta) made from the bytes [start, end) of the
 * ASCII chunk `text` was read from (char i of text is byte i + delta): for 13 to 16
 * characters the codes come from byte reads, which cost less than charCodeAt.
 */
export function detachBytes(b: DataView, start: number, end: number, text: string, delta: number): string {
  const n = end - start;
  // 16 bytes are read whatever n is: near the end of the chunk, from the text.
  if (n < 13 || n > 16 || start + 16 > b.byteLength) return detachAt(text, start - delta, end - delta);
  const s = start;
  return flat(n, b.getUint8(s), b.getUint8(s + 1), b.getUint8(s + 2), b.getUint8(s + 3), b.getUint8(s + 4), b.getUint8(s + 5), b.getUint8(s + 6), b.getUint8(s + 7),
    b.getUint8(s + 8), b.getUint8(s + 9), b.getUint8(s + 10), b.getUint8(s + 11), b.getUint8(s + 12), b.getUint8(s + 13), b.getUint8(s + 14), b.getUint8(s + 15));
}

/** The flat string of the first n (13 to 16) of these char codes, by one fromCharCode call. */
function flat(n: number, a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number, m: number, x: number, y: number, z: number): string {
  if (n === 13) return String.fromCharCode(a, b, c, d, e, f, g, h, i, j, k, l, m);
  if (n === 14) return String.fromCharCode(a, b, c, d, e, f, g, h, i, j, k, l, m, x);
  if (n === 15) return String.fromCharCode(a, b, c, d, e, f, g, h, i, j, k, l, m, x, y);
  return String.fromCharCode(a, b, c, d, e, f, g, h, i, j, k, l, m, x, y, z);
}
