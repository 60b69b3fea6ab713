// Where a frame's header lines and the values sipwarden reads are, found in
// one walk over the text. The framer runs the walk while it looks for the end
// of each frame, so the normalizer slices the values it keeps without reading
// the lines again.

import { sameChars } from './bytes-at.ts';

/** Spans per frame in an index: [start, end) pairs, relative to the frame text, -1 when absent. */
export const SPAN_WIDTH = 18;
// The first `Event` header (the rest: the last of a repeated key wins, as in a header list).
export const EVENT = 0;
export const TV = 2;
export const SERVICE = 4;
export const ACCOUNT = 6;
export const SESSION = 8;
export const REMOTE = 10;
export const LOCAL = 12;
export const SEVERITY = 14;
export const RESPONSE = 16;
/** A key no span holds but that extra leaves out too. */
export const SKIP = -2;
/** Any other key (goes to a security event's extra). */
export const OTHER = -1;

const CR = 0x0d;
const LF = 0x0a;
export const BAD = -1;
export const EMPTY_VALUE = -2;

/**
 * Index of the next CRLF at or after `pos`, or -1. A one-character indexOf
 * is a plain memchr; the two-character search costs several times more on
 * lines this short.
 */
export function lineEnd(text: string, pos: number): number {
  for (;;) {
    const lf = text.indexOf('\n', pos);
    if (lf < 0) return -1;
    if (lf > 0 && text.charCodeAt(lf - 1) === CR) return lf - 1;
    pos = lf + 1;
  }
}

/**
 * How the line [pos, eol) splits: the index of its `: ` separator, EMPTY_VALUE
 * for `Key:` at the end of the line (an empty value without the space), or BAD.
 */
export function lineKind(text: string, pos: number, eol: number): number {
  // One-character searches bounded by the line, not `indexOf(': ')` over the whole text.
  let colon = text.indexOf(':', pos);
  if (colon < 0 || colon >= eol) return BAD;
  const first = colon;
  while (colon >= 0 && colon < eol - 1) {
    if (text.charCodeAt(colon + 1) === 0x20 && colon > pos) return colon;
    if (text.charCodeAt(colon + 1) === 0x20) return BAD; // `: ` at the start of the line: no key
    colon = text.indexOf(':', colon + 1);
  }
  return first === eol - 1 && eol - 1 > pos ? EMPTY_VALUE : BAD;
}

/** Which span a key [pos, end) names, SKIP, or OTHER. Dispatch on length and first char: one compare per line. */
export function fieldOf(text: string, pos: number, end: number): number {
  const c = text.charCodeAt(pos);
  switch (end - pos) {
    case 5:
      return c === 0x45 && sameChars(text, pos, 'Event') ? EVENT : OTHER;
    case 7:
      return c === 0x45 ? (sameChars(text, pos, 'EventTV') ? TV : OTHER) : c === 0x53 && sameChars(text, pos, 'Service') ? SERVICE : OTHER;
    case 8:
      return c === 0x53 ? (sameChars(text, pos, 'Severity') ? SEVERITY : OTHER) : c === 0x52 && sameChars(text, pos, 'Response') ? RESPONSE : OTHER;
    case 9:
      if (c === 0x41) return sameChars(text, pos, 'AccountID') ? ACCOUNT : OTHER;
      if (c === 0x53) return sameChars(text, pos, 'SessionID') ? SESSION : OTHER;
      return c === 0x50 && sameChars(text, pos, 'Privilege') ? SKIP : OTHER;
    case 12:
      return c === 0x4c ? (sameChars(text, pos, 'LocalAddress') ? LOCAL : OTHER) : c === 0x45 && sameChars(text, pos, 'EventVersion') ? SKIP : OTHER;
    case 13:
      return c === 0x52 && sameChars(text, pos, 'RemoteAddress') ? REMOTE : OTHER;
    default:
      return OTHER;
  }
}

// Keys Asterisk sends in nearly every security event, matched against the chunk's bytes
// four at a time (a walk over a decoded text uses fieldOf): name -> span, SKIP or OTHER.
const KNOWN: ReadonlyArray<readonly [string, number]> = [
  ['Event', EVENT], ['Privilege', SKIP], ['EventTV', TV], ['Severity', SEVERITY], ['Service', SERVICE], ['EventVersion', SKIP],
  ['AccountID', ACCOUNT], ['SessionID', SESSION], ['LocalAddress', LOCAL], ['RemoteAddress', REMOTE], ['Challenge', OTHER],
  ['Response', RESPONSE], ['ExpectedResponse', OTHER], ['SessionTV', OTHER], ['UsingPassword', OTHER], ['ACLName', OTHER],
];
const K_LEN = new Int32Array(KNOWN.length);
const K_SPAN = new Int32Array(KNOWN.length);
const K_WORDS = new Int32Array(KNOWN.length);
// Little-endian 32-bit words of each `name: ` (5 per key), the last one masked to its length:
// a line matches with its separator, so a match needs no look at the colon and space.
const K_STRIDE = 5;
const K_WORD = new Uint32Array(KNOWN.length * K_STRIDE);
const K_MASK = new Uint32Array(KNOWN.length * K_STRIDE);
// The keys by their first word: a 64-cell hash table with chains (K_NEXT), -1 ends a chain.
const HASH_BITS = 6;
const K_HEAD = new Int32Array(1 << HASH_BITS).fill(-1);
const K_NEXT = new Int32Array(KNOWN.length).fill(-1);
const hashWord = (w: number): number => Math.imul(w, 0x9e3779b1) >>> (32 - HASH_BITS);
KNOWN.forEach(([name, span], k) => {
  const pattern = `${name}: `;
  K_LEN[k] = name.length;
  K_SPAN[k] = span;
  K_WORDS[k] = Math.ceil(pattern.length / 4);
  for (let i = 0; i < pattern.length; i++) {
    K_WORD[k * K_STRIDE + (i >> 2)]! |= pattern.charCodeAt(i) << (8 * (i & 3));
    K_MASK[k * K_STRIDE + (i >> 2)]! |= 0xff << (8 * (i & 3));
  }
  const h = hashWord(K_WORD[k * K_STRIDE]!);
  K_NEXT[k] = K_HEAD[h]!;
  K_HEAD[h] = k;
});
/** Bytes a match may read from a line's start: the words of the longest `name: `. */
const MATCH_BYTES = 4 * Math.max(...KNOWN.map(([n]) => Math.ceil((n.length + 2) / 4)));

/**
 * The KNOWN key that the line at byte `at` of `b` starts with, followed by
 * `: `, or -1. `at` must be at most `limit` (the chunk's length less
 * MATCH_BYTES): near the end of the chunk the generic path takes the line.
 * `guess` is tried first: KNOWN is in the order Asterisk writes its security
 * events, so the key after the last one matched is nearly always the next line's.
 */
function knownAt(b: DataView, at: number, limit: number, guess: number): number {
  if (at > limit) return -1;
  const w0 = b.getUint32(at, true);
  if (guess < KNOWN.length && isKeyAt(b, at, w0, guess)) return guess;
  for (let k = K_HEAD[hashWord(w0)]!; k >= 0; k = K_NEXT[k]!) if (k !== guess && isKeyAt(b, at, w0, k)) return k;
  return -1;
}

/** The line at `at` (first word `w0`) starts with KNOWN key `k` and its `: `. */
function isKeyAt(b: DataView, at: number, w0: number, k: number): boolean {
  const i = k * K_STRIDE;
  if ((w0 & K_MASK[i]!) >>> 0 !== K_WORD[i]) return false;
  const words = K_WORDS[k]!;
  let w = 1;
  while (w < words && (b.getUint32(at + 4 * w, true) & K_MASK[i + w]!) >>> 0 === K_WORD[i + w]) w++;
  return w === words;
}

/** What the last walk saw: header lines that split, and lines that do not. */
export const walked = { good: 0, bad: 0 };

/**
 * Walks the lines of the frame that starts at `start` in `s`, recording the
 * spans of the indexed keys (offsets in `s`) at spans[base, base +
 * SPAN_WIDTH) and the line counts in `walked`. Lines split on CRLF only.
 *
 * `whole` false: `s` is a stream; returns the end of the frame, its blank
 * line included (the first `\r\n\r\n`, as a byte search would find it), or -1
 * when `s` ends before it. `whole` true: `s` from `start` is one frame text
 * without its terminator; returns -1 after the last line.
 * `bytes` (stream only): the chunk `s` was read from as latin1, `s[0]` at `off`,
 * so the common keys are matched a word at a time.
 */
export function walkFrame(s: string, start: number, spans: Int32Array, base: number, whole: boolean, bytes: DataView | null = null, off = 0): number {
  for (let i = base; i < base + SPAN_WIDTH; i++) spans[i] = -1;
  let good = 0;
  let bad = 0;
  const len = s.length;
  let pos = start;
  let end = -1;
  let guess = 0;
  const limit = bytes === null ? -1 : bytes.byteLength - MATCH_BYTES;
  while (pos < len) {
    // lineEnd, inlined: this loop runs for every header line of every frame.
    let eol = s.indexOf('\n', pos);
    // The CR before it from the chunk's bytes when at hand: a byte read costs less than charCodeAt.
    while (eol > 0 && (bytes !== null ? bytes.getUint8(off + eol - 1) : s.charCodeAt(eol - 1)) !== CR) eol = s.indexOf('\n', eol + 1);
    if (eol > 0) eol--;
    else if (eol === 0) eol = lineEnd(s, 1);
    if (eol === pos) {
      // A blank line. After a line it ends the frame; at the very start only
      // `\r\n\r\n` does (a byte search finds that terminator there).
      if (!whole && pos > start) {
        end = pos + 2;
        break;
      }
      if (!whole && s.charCodeAt(pos + 2) === CR && s.charCodeAt(pos + 3) === LF) {
        end = pos + 4;
        break;
      }
      pos += 2;
      continue;
    }
    if (eol < 0) {
      if (!whole) break;
      eol = len;
    }
    let sep = BAD;
    let f = OTHER;
    const k = bytes === null ? -1 : knownAt(bytes, off + pos, limit, guess);
    if (k >= 0) {
      // `Key: `: the key has no colon, so this is the line's first `: `, as lineKind would find.
      guess = k + 1;
      sep = pos + K_LEN[k]!;
      f = K_SPAN[k]!;
    } else {
      sep = lineKind(s, pos, eol);
      if (sep !== BAD) f = fieldOf(s, pos, sep >= 0 ? sep : eol - 1);
    }
    if (sep === BAD) bad++;
    else {
      good++;
      if (f >= 0 && (f !== EVENT || spans[base]! < 0)) {
        spans[base + f] = sep >= 0 ? sep + 2 : eol;
        spans[base + f + 1] = eol;
      }
    }
    pos = eol + 2;
  }
  walked.good = good;
  walked.bad = bad;
  return end;
}
