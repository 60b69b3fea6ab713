// Incremental AMI framer: TCP bytes in, whole frames out.
//
// Works on Buffers and decodes UTF-8 only once a frame is whole, so a
// multibyte character split across TCP chunks decodes right. Memory is
// bounded by `maxFrameBytes`: an oversize frame is dropped while it streams
// in (only the last 3 bytes are kept, to spot the terminator), then the
// framer resynchronises at the next `\r\n\r\n`.
import { isAscii, isUtf8 } from 'node:buffer';
import type { AmiFrame } from '../../domain/types.ts';
import { detachAt } from '../../domain/detach.ts';
import { BAD, EMPTY_VALUE, SPAN_WIDTH, lineEnd, lineKind, walkFrame, walked } from './header-index.ts';

export { EMPTY_VALUE, lineEnd, lineKind } from './header-index.ts';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** Why a frame or line was dropped. */
export type FramerErrorReason = 'oversize' | 'malformed-line' | 'invalid-utf8';

export interface FramerError {
  readonly reason: FramerErrorReason;
  /** Bytes concerned (the whole dropped frame for 'oversize'). */
  readonly bytes: number;
  /** Up to 80 chars of the offending text, RAW: escape before printing. */
  readonly sample?: string;
}

export interface FramerStats {
  /** Frames emitted (greeting not included). */
  frames: number;
  /** Bytes pushed in. */
  bytes: number;
  /** Lines without `: ` skipped inside otherwise good frames. */
  malformedLines: number;
  /** Frames dropped because they exceeded maxFrameBytes. */
  oversize: number;
  /** Bytes thrown away with oversize frames. */
  discardedBytes: number;
  /** Frames holding bytes that are not valid UTF-8 (decoded with U+FFFD). */
  invalidUtf8: number;
  /** Blank frames (stray `\r\n\r\n`) skipped. */
  emptyFrames: number;
}

export interface FramerOptions {
  /** Largest frame kept, terminator included. Default 64 KiB. */
  readonly maxFrameBytes?: number;
  /** Expect the `Asterisk Call Manager/x.y.z\r\n` line first. Default true. */
  readonly expectGreeting?: boolean;
  readonly onGreeting?: (greeting: string) => void;
  readonly onError?: (error: FramerError) => void;
}

const TERM = Buffer.from('\r\n\r\n', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
// Old Asterisk (<= 13) answers `Action: Command` with `Response: Follows`,
// raw output lines and `--END COMMAND--\r\n\r\n`; the raw output may hold
// blank lines, so such a frame ends only at that marker.
const FOLLOWS = Buffer.from('response: follows', 'latin1');
const END_COMMAND = Buffer.from('--END COMMAND--', 'latin1');
const END_COMMAND_STR = '--END COMMAND--';
/** Headers an old `Response: Follows` frame carries before its raw output. */
const FOLLOWS_HEADERS = new Set(['response', 'privilege', 'actionid', 'message', 'server']);
/** A greeting line longer than this is not a greeting. */
const MAX_GREETING_BYTES = 256;
/** Chunks shorter than this take the byte search: a string of the chunk is not worth making. */
const FAST_MIN = 64;
/** Frames one index pool holds: one allocation per this many frames. */
const POOL_FRAMES = 256;

export class AmiFramer {
  readonly stats: FramerStats = {
    frames: 0,
    bytes: 0,
    malformedLines: 0,
    oversize: 0,
    discardedBytes: 0,
    invalidUtf8: 0,
    emptyFrames: 0,
  };
  /** The greeting line, once seen. */
  greeting: string | undefined;

  private readonly max: number;
  private readonly onGreeting: ((g: string) => void) | undefined;
  private readonly onError: ((e: FramerError) => void) | undefined;
  private greetingPending: boolean;
  // Bytes of the one incomplete frame. Invariant: holds no acceptable end.
  private acc: Buffer;
  private accLen = 0;
  // While discarding an oversize frame: only its last <= 3 bytes are kept.
  private discarding = false;
  private discardCount = 0;
  private out: AmiFrame[] = [];
  // Header spans of the frames made, SPAN_WIDTH per frame; frames keep their pool.
  private pool = new Int32Array(SPAN_WIDTH * POOL_FRAMES);
  private poolUsed = 0;

  constructor(options: FramerOptions = {}) {
    this.max = Math.max(16, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.onGreeting = options.onGreeting;
    this.onError = options.onError;
    this.greetingPending = options.expectGreeting ?? true;
    this.acc = Buffer.allocUnsafe(Math.min(4096, this.max));
  }

  /** Bytes held for an incomplete frame (bounded by maxFrameBytes). */
  get bufferedBytes(): number {
    return this.accLen;
  }

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Buffer): AmiFrame[] {
    this.stats.bytes += chunk.length;
    this.out = [];
    if (chunk.length === 0) return this.out;
    if (this.greetingPending) {
      const rest = this.takeGreeting(chunk);
      if (rest === undefined) return this.out;
      chunk = rest;
    }
    let pos = 0;
    if (this.discarding) pos = this.continueDiscard(chunk);
    else if (this.accLen > 0) pos = this.continuePending(chunk);
    if (pos >= 0) this.scan(chunk, pos);
    return this.out;
  }

  /** Forget any partial frame and expect a new greeting (new connection). */
  reset(expectGreeting = true): void {
    this.accLen = 0;
    this.discarding = false;
    this.discardCount = 0;
    this.greetingPending = expectGreeting;
    this.greeting = undefined;
  }

  // --- greeting -----------------------------------------------------------

  /** Returns the bytes left after the greeting, or undefined to wait. */
  private takeGreeting(chunk: Buffer): Buffer | undefined {
    // Runs once per connection on a few bytes: a copy here costs nothing.
    const buf = this.accLen > 0 ? Buffer.concat([this.acc.subarray(0, this.accLen), chunk]) : chunk;
    this.accLen = 0;
    const eol = buf.indexOf('\r\n');
    if (eol < 0 || eol > MAX_GREETING_BYTES) {
      // +2: a CRLF starting at MAX_GREETING_BYTES must be visible before we
      // give up, or the outcome would depend on where the chunks split.
      if (eol < 0 && buf.length < MAX_GREETING_BYTES + 2) {
        this.append(buf, 0, buf.length);
        return undefined;
      }
      this.greetingPending = false;
      return buf;
    }
    this.greetingPending = false;
    const line = buf.toString('utf8', 0, eol);
    // A header line (has `: `) means the stream began mid-session or is a
    // replay without greeting: parse it as a frame.
    if (line.length === 0 || line.includes(': ')) return buf;
    this.greeting = line;
    this.onGreeting?.(line);
    return buf.subarray(eol + 2);
  }

  // --- frame boundaries ---------------------------------------------------

  /** Zero-copy scan of `chunk` from `pos`, no partial frame pending. */
  private scan(chunk: Buffer, pos: number): void {
    const len = chunk.length;
    // Plain ASCII (what Asterisk sends unless an attacker's text is in it): the
    // chunk is read as one string, and each frame's end and header index come
    // from one walk over its lines. Anything else takes the byte search below.
    if (len - pos >= FAST_MIN && isAscii(chunk)) pos = this.scanText(chunk, pos);
    while (pos < len) {
      const end = this.findEnd(chunk, pos, pos, pos + this.max);
      if (end < 0) break;
      if (end - pos > this.max) this.dropOversize(end - pos);
      else this.emit(chunk, pos, end - 4);
      pos = end;
    }
    if (pos >= len) return;
    const rest = len - pos;
    if (rest > this.max) this.startDiscard(chunk, pos, len, rest);
    else this.append(chunk, pos, len);
  }

  /**
   * The frames of an ASCII chunk from `pos`, found by walking its lines (char
   * offsets are byte offsets). Returns where the byte search takes over: at a
   * `Response: Follows` frame, or at the incomplete frame the chunk ends with.
   */
  private scanText(chunk: Buffer, pos: number): number {
    const s = chunk.toString('latin1', pos, chunk.length);
    const bytes = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const len = s.length;
    let p = 0;
    while (p < len) {
      if (startsFollows(chunk, pos + p, chunk.length)) break;
      const base = this.spanSlot();
      const end = walkFrame(s, p, this.pool, base, false, bytes, pos);
      if (end < 0) break;
      if (end - p > this.max) this.dropOversize(end - p);
      else if (walked.bad > 0 || walked.good === 0) this.emit(chunk, pos + p, pos + end - 4);
      else {
        // Read in place from the chunk's text: the frame's own text is made only if asked for.
        this.out.push(new TextFrame(s, this.pool, base, bytes, pos, p, end - 4));
        this.stats.frames++;
        this.poolUsed += SPAN_WIDTH;
      }
      p = end;
    }
    return pos + p;
  }

  /** Where the next frame's spans go in the index pool (a new pool when this one is full). */
  private spanSlot(): number {
    if (this.poolUsed + SPAN_WIDTH > this.pool.length) {
      this.pool = new Int32Array(SPAN_WIDTH * POOL_FRAMES);
      this.poolUsed = 0;
    }
    return this.poolUsed;
  }

  /**
   * End (exclusive, terminator included) of the frame starting at `start`,
   * searching from `from`; -1 if not complete within `buf`. Past `limit`
   * (start + max) the first terminator is returned even in a Follows frame:
   * the frame is oversize and that is where we resynchronise. This rule
   * gives the same frames however the stream is chunked.
   */
  private findEnd(buf: Buffer, start: number, from: number, limit = Infinity): number {
    let t = buf.indexOf(TERM, from);
    if (t < 0) return -1;
    if (!startsFollows(buf, start, t)) return t + 4;
    while (t >= 0) {
      if (t + 4 > limit) return t + 4;
      if (t - END_COMMAND.length >= start && endsWithEndCommand(buf, t)) return t + 4;
      t = buf.indexOf(TERM, t + 1);
    }
    return -1;
  }

  /**
   * A partial frame is in `acc`: look for its end in the boundary and in
   * `chunk`, copying only this frame's bytes. Returns where the zero-copy
   * scan resumes in `chunk`, or -1 if the chunk was used up.
   */
  private continuePending(chunk: Buffer): number {
    let end = this.boundaryEnd(this.acc, this.accLen, chunk);
    let searchFrom = 0;
    for (;;) {
      if (end < 0) end = this.nextTermEnd(chunk, searchFrom);
      if (end < 0) {
        // No end in this chunk: all of it belongs to the pending frame.
        if (this.accLen + chunk.length > this.max) {
          this.startDiscardFromAcc(chunk);
        } else {
          this.append(chunk, 0, chunk.length);
        }
        return -1;
      }
      if (this.accLen + end > this.max) {
        this.accLen += end; // for the count only; bytes are not copied
        this.dropOversize(this.accLen);
        this.accLen = 0;
        return end;
      }
      const before = this.accLen;
      this.append(chunk, 0, end);
      // Whole candidate frame is now in acc: check the Follows rule there.
      const frameEnd = this.findEnd(this.acc.subarray(0, this.accLen), 0, Math.max(0, before - 3));
      if (frameEnd === this.accLen) {
        this.emit(this.acc, 0, this.accLen - 4);
        this.accLen = 0;
        return end;
      }
      // A Follows frame not finished yet: undo the copy, search further.
      this.accLen = before;
      searchFrom = Math.max(0, end - 3);
      end = -1;
    }
  }

  /** End in `chunk` of the next `\r\n\r\n` at or after `from`, or -1. */
  private nextTermEnd(chunk: Buffer, from: number): number {
    const t = chunk.indexOf(TERM, from);
    return t < 0 ? -1 : t + 4;
  }

  /**
   * A terminator that starts in the last bytes of `tail` (length `tailLen`)
   * and ends in `chunk`: its end offset in `chunk`, or -1. Earliest first.
   */
  private boundaryEnd(tail: Buffer, tailLen: number, chunk: Buffer): number {
    for (let k = 3; k >= 1; k--) {
      if (tailLen < k || chunk.length < 4 - k) continue;
      let ok = true;
      for (let i = 0; i < k && ok; i++) ok = tail[tailLen - k + i] === TERM[i];
      for (let i = 0; i < 4 - k && ok; i++) ok = chunk[i] === TERM[k + i];
      if (ok) return 4 - k;
    }
    return -1;
  }

  // --- oversize handling --------------------------------------------------

  private startDiscard(chunk: Buffer, from: number, to: number, count: number): void {
    this.discarding = true;
    this.discardCount = count;
    this.accLen = 0;
    this.keepTail(chunk, from, to);
  }

  private startDiscardFromAcc(chunk: Buffer): void {
    const count = this.accLen + chunk.length;
    // Tail = last 3 bytes of acc+chunk, needed to spot a split terminator.
    const joined = Buffer.concat([this.acc.subarray(Math.max(0, this.accLen - 3), this.accLen), chunk.subarray(Math.max(0, chunk.length - 3))]);
    this.discarding = true;
    this.discardCount = count;
    this.accLen = 0;
    this.keepTail(joined, 0, joined.length);
  }

  private keepTail(buf: Buffer, from: number, to: number): void {
    const start = Math.max(from, to - 3);
    buf.copy(this.acc, 0, start, to);
    this.accLen = to - start;
  }

  /** Returns where normal scanning resumes in `chunk`, or -1. */
  private continueDiscard(chunk: Buffer): number {
    let end = this.boundaryEnd(this.acc, this.accLen, chunk);
    if (end < 0) end = this.nextTermEnd(chunk, 0);
    if (end < 0) {
      this.discardCount += chunk.length;
      if (chunk.length >= 3) {
        this.keepTail(chunk, 0, chunk.length);
      } else {
        const joined = Buffer.concat([this.acc.subarray(0, this.accLen), chunk]);
        this.keepTail(joined, 0, joined.length);
      }
      return -1;
    }
    this.discardCount += end;
    this.discarding = false;
    this.accLen = 0;
    this.dropOversize(this.discardCount);
    this.discardCount = 0;
    return end;
  }

  private dropOversize(bytes: number): void {
    this.stats.oversize++;
    this.stats.discardedBytes += bytes;
    this.onError?.({ reason: 'oversize', bytes });
  }

  // --- buffer -------------------------------------------------------------

  private append(src: Buffer, from: number, to: number): void {
    const need = this.accLen + (to - from);
    if (need > this.acc.length) {
      let cap = this.acc.length * 2;
      while (cap < need) cap *= 2;
      const grown = Buffer.allocUnsafe(cap);
      this.acc.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    src.copy(this.acc, this.accLen, from, to);
    this.accLen = need;
  }

  // --- parsing ------------------------------------------------------------

  /** Parse bytes [start, stop) (terminator excluded) into a frame. */
  private emit(buf: Buffer, start: number, stop: number): void {
    const text = buf.toString('utf8', start, stop);
    // U+FFFD can be genuine; only then pay for a validity check.
    if (text.includes('\uFFFD') && !isUtf8(buf.subarray(start, stop))) {
      this.stats.invalidUtf8++;
      this.onError?.({ reason: 'invalid-utf8', bytes: stop - start, sample: text.slice(0, 80) });
    }
    let frame: AmiFrame;
    if (startsFollows(buf, start, stop + 4)) {
      frame = this.parseFollows(text);
      if (frame.headers.length === 0 && frame.body === undefined) {
        this.stats.emptyFrames++;
        return;
      }
    } else {
      // Lines are checked (bad ones reported) and indexed now; the [key, value] list is
      // made only if someone asks for it: the normalizer reads events from the text.
      const base = this.spanSlot();
      walkFrame(text, 0, this.pool, base, true);
      if (walked.bad > 0) this.reportBadLines(text);
      if (walked.good === 0) {
        this.stats.emptyFrames++;
        return;
      }
      frame = new TextFrame(text, this.pool, base);
      this.poolUsed += SPAN_WIDTH;
    }
    this.stats.frames++;
    this.out.push(frame);
  }

  /** Counts and reports the lines of a frame text that are no header. */
  private reportBadLines(text: string): void {
    const len = text.length;
    let pos = 0;
    while (pos < len) {
      let eol = lineEnd(text, pos);
      if (eol < 0) eol = len;
      if (eol > pos && lineKind(text, pos, eol) === BAD) {
        this.stats.malformedLines++;
        this.onError?.({ reason: 'malformed-line', bytes: eol - pos, sample: text.slice(pos, Math.min(eol, pos + 80)) });
      }
      pos = eol + 2;
    }
  }

  /** Old `Response: Follows`: leading known headers, then raw output lines. */
  private parseFollows(text: string): AmiFrame {
    const headers: Array<readonly [string, string]> = [];
    let end = text.length;
    if (text.endsWith(END_COMMAND_STR)) end -= END_COMMAND_STR.length;
    let pos = 0;
    while (pos < end) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0 || eol > end) eol = end;
      const lineEnd = eol > pos && text.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
      const sep = text.indexOf(': ', pos);
      if (sep <= pos || sep >= lineEnd || !FOLLOWS_HEADERS.has(text.slice(pos, sep).toLowerCase())) break;
      headers.push([text.slice(pos, sep), text.slice(sep + 2, lineEnd)]);
      pos = eol + 1;
    }
    const body = pos < end ? text.slice(pos, end).split(/\r?\n/) : [];
    // The output ends with a newline before the marker: drop the empty tail.
    if (body.length > 0 && body[body.length - 1] === '') body.pop();
    return { headers, body };
  }
}

/**
 * Calls `each(keyStart, keyEnd, valueStart, valueEnd)` for every well-formed
 * header line of a frame text. Lines split on CRLF only: a bare LF stays
 * inside its value, so a value cannot smuggle in a fake header line.
 * Malformed lines are skipped (the framer reported them when the frame came in).
 */
export function forEachHeader(text: string, from: number, to: number, each: (ks: number, ke: number, vs: number, ve: number) => void): void {
  let pos = from;
  while (pos < to) {
    let eol = lineEnd(text, pos);
    if (eol < 0 || eol > to) eol = to;
    if (eol > pos) {
      const sep = lineKind(text, pos, eol);
      if (sep >= 0) each(pos, sep, sep + 2, eol);
      else if (sep === EMPTY_VALUE) each(pos, eol - 1, eol, eol);
    }
    pos = eol + 2;
  }
}

/** The [key, value] list of a frame text (known keys reuse their constant). */
export function parseHeaderLines(text: string): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [];
  forEachHeader(text, 0, text.length, (ks, ke, vs, ve) => headers.push([knownKey(text, ks, ke) ?? text.slice(ks, ke), text.slice(vs, ve)]));
  return headers;
}

/**
 * A frame kept as its text (CRLF-separated lines, terminator excluded). The
 * [key, value] list is built on first use: events are read straight from
 * the text (normalize/), so most frames never build it.
 */
export class TextFrame implements AmiFrame {
  private parsed: Array<readonly [string, string]> | undefined;
  private own: string | undefined;
  /**
   * @param source the text the frame is [start, end) of: its own text, or the
   *   text of the chunk it was read from.
   * @param index where the framer recorded this frame's header spans (see
   *   header-index.ts), at `at`, as offsets in `source`; absent for a frame
   *   made from text elsewhere.
   * @param bytes the ASCII chunk `source` was read from, char i at byte
   *   `byteAt + i` (values compared a word at a time, see bytes-at.ts).
   */
  constructor(
    readonly source: string,
    readonly index?: Int32Array,
    readonly at = 0,
    readonly bytes: DataView | null = null,
    readonly byteAt = 0,
    readonly start = 0,
    readonly end = source.length,
  ) {}

  /** The frame's text. Its own flat copy when read from a chunk: a slice would keep the whole chunk alive. */
  get text(): string {
    if (this.start === 0 && this.end === this.source.length) return this.source;
    return (this.own ??= detachAt(this.source, this.start, this.end));
  }

  get headers(): ReadonlyArray<readonly [string, string]> {
    return (this.parsed ??= parseHeaderLines(this.text));
  }

  /** The plain frame: what JSON and logs see. */
  toJSON(): AmiFrame {
    return { headers: this.headers };
  }
}

// The header names of the events sipwarden reads, by length: a key that is one
// of them reuses the constant instead of a new string per header per frame.
const KNOWN_KEYS: ReadonlyArray<readonly string[] | undefined> = (() => {
  const keys = ['Event', 'Privilege', 'EventTV', 'Severity', 'Service', 'EventVersion', 'AccountID', 'SessionID', 'LocalAddress', 'RemoteAddress',
    'Challenge', 'Response', 'ExpectedResponse', 'SessionTV', 'UsingPassword', 'ACLName', 'Channel', 'ChannelState', 'ChannelStateDesc',
    'CallerIDNum', 'CallerIDName', 'ConnectedLineNum', 'ConnectedLineName', 'Language', 'AccountCode', 'Context', 'Exten', 'Priority',
    'Uniqueid', 'Linkedid', 'Extension', 'Application', 'AppData', 'ActionID', 'Message', 'Cause', 'Cause-txt', 'DestChannel', 'DialString'];
  const byLen: string[][] = [];
  for (const k of keys) (byLen[k.length] ??= []).push(k);
  return byLen;
})();

export function knownKey(text: string, pos: number, sep: number): string | undefined {
  const candidates = KNOWN_KEYS[sep - pos];
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) if (text.startsWith(candidates[i]!, pos)) return candidates[i];
  return undefined;
}

/** Does the frame at `start` (ending before `limit`) begin `Response: Follows`? */
function startsFollows(buf: Buffer, start: number, limit: number): boolean {
  const n = FOLLOWS.length;
  if (limit - start < n) return false;
  for (let i = 0; i < n; i++) {
    let c = buf[start + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20; // ASCII lower-case
    if (c !== FOLLOWS[i]) return false;
  }
  // Exactly `Follows`, not a longer word.
  const next = buf[start + n];
  return next === CR || next === LF;
}

function endsWithEndCommand(buf: Buffer, t: number): boolean {
  const n = END_COMMAND.length;
  for (let i = 0; i < n; i++) if (buf[t - n + i] !== END_COMMAND[i]) return false;
  return true;
}

/** Parse a whole byte stream (a capture) into frames. */
export function framesFromBuffer(buf: Buffer, options: FramerOptions = {}): AmiFrame[] {
  return new AmiFramer(options).push(buf);
}

/**
 * First value of `key` (case-insensitive, as AMI keys are), or undefined.
 * Length is compared first so most keys cost no lower-casing.
 */
export function header(frame: AmiFrame, key: string): string | undefined {
  const h = frame.headers;
  const n = key.length;
  let lower: string | undefined;
  for (let i = 0; i < h.length; i++) {
    const pair = h[i]!;
    const k = pair[0];
    if (k.length !== n) continue;
    if (k === key) return pair[1];
    lower ??= key.toLowerCase();
    if (k.toLowerCase() === lower) return pair[1];
  }
  return undefined;
}

/** Every value of `key` in wire order (Output, ChanVariable, ...). */
export function headerAll(frame: AmiFrame, key: string): string[] {
  const lower = key.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of frame.headers) {
    if (k.length === key.length && (k === key || k.toLowerCase() === lower)) out.push(v);
  }
  return out;
}
