import { Words, sameBytes, sameChars } from '../sources/ami/bytes-at.ts';

/**
 * Parses Asterisk's EventTV, e.g. `2026-11-22T11:17:53.844+0000`.
 * Date.parse rejects the `+0000` offset form, so split it by hand.
 * Returns NaN when the text is not an EventTV.
 */
export function parseEventTV(text: string): number {
  // Fast path for the form Asterisk writes (28 chars, ms, `+HHMM`), same result as the regex below.
  if (text.length === 28) {
    const t = fastEventTV(text, 0);
    if (t === t) return t;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!m) return NaN;
  const frac = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
  const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
  const offset = (+m[9]! * 60 + +m[10]!) * 60_000;
  return m[8] === '+' ? utc - offset : utc + offset;
}

// Date part (`YYYY-MM-DDTHH:MM:SS`) of the last EventTV and its Date.UTC: events share seconds.
let lastPrefix = '';
const lastPrefixWords = new Words(19);
let lastBase = 0;

/**
 * parseEventTV(text.slice(start, end)) for the 28-char form, read in place;
 * NaN for anything else, which the caller then slices and parses.
 */
export function parseEventTVAt(text: string, start: number, end: number, bytes: DataView | null = null, byteAt = 0): number {
  return end - start === 28 ? fastEventTV(text, start, bytes, byteAt) : NaN;
}

function digits(text: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** `YYYY-MM-DDTHH:MM:SS.mmm±HHMM` at `o` (28 chars) only; NaN for anything else (the regex decides then). */
function fastEventTV(text: string, o: number, bytes: DataView | null = null, byteAt = 0): number {
  if (text.charCodeAt(o + 19) !== 0x2e /* . */) return NaN;
  const frac = digits(text, o + 20, 3);
  const sign = text.charCodeAt(o + 23);
  const oh = digits(text, o + 24, 2);
  const om = digits(text, o + 26, 2);
  if (frac < 0 || oh < 0 || om < 0 || (sign !== 0x2b && sign !== 0x2d)) return NaN;
  let base: number;
  // The date and second are compared with the last ones (a word at a time when the bytes are at hand).
  if (lastPrefix !== '' && (bytes !== null ? sameBytes(bytes, byteAt + o, 19, lastPrefixWords) : sameChars(text, o, lastPrefix))) base = lastBase;
  else {
    if (text.charCodeAt(o + 4) !== 0x2d || text.charCodeAt(o + 7) !== 0x2d || text.charCodeAt(o + 10) !== 0x54 || text.charCodeAt(o + 13) !== 0x3a || text.charCodeAt(o + 16) !== 0x3a) return NaN;
    const y = digits(text, o, 4), mo = digits(text, o + 5, 2), d = digits(text, o + 8, 2);
    const h = digits(text, o + 11, 2), mi = digits(text, o + 14, 2), s = digits(text, o + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return NaN;
    base = Date.UTC(y, mo - 1, d, h, mi, s, 0);
    lastPrefix = text.slice(o, o + 19);
    lastPrefixWords.set(lastPrefix);
    lastBase = base;
  }
  // Date.UTC(..., frac) === Date.UTC(..., 0) + frac for every 4-digit year (no TimeClip at that range).
  const utc = base + frac;
  const offset = (oh * 60 + om) * 60_000;
  return sign === 0x2b ? utc - offset : utc + offset;
}
