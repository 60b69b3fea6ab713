import { SECURITY_EVENT_TYPES, FAILURE_TYPES } from '../domain/types.ts';
import type { AmiFrame, CallEvent, CallEventType, DomainEvent, Endpoint, SecurityEvent, SecurityEventType } from '../domain/types.ts';
import { MAX_ADDRESS, parseAmiAddress, parseIpv4AddressAt } from './remote-address.ts';
import { detach, detachAt, detachBytes } from '../domain/detach.ts';
import { TextFrame } from '../sources/ami/framer.ts';
import { Words, sameBytes, sameChars } from '../sources/ami/bytes-at.ts';
import { SPAN_WIDTH, EVENT, TV, SERVICE, ACCOUNT, SESSION, REMOTE, LOCAL, SEVERITY, RESPONSE } from '../sources/ami/header-index.ts';
import { MAX_FIELD, SecurityEventRecord, clip, scanSecurityText, spanText } from './security-event.ts';
import { parseEventTV, parseEventTVAt } from './event-time.ts';
import { attemptKey, attemptKeyAt, AttemptDeduper } from './attempt-key.ts';
import { TextCache } from './text-cache.ts';

// Names map to their constants: downstream Map lookups then compare one pointer, and
// no event keeps a slice of its frame text alive.
const SECURITY: ReadonlyMap<string, SecurityEventType> = new Map(SECURITY_EVENT_TYPES.map((t) => [t, t]));

const CALL: ReadonlySet<string> = new Set<CallEventType>(['Newchannel', 'DialBegin', 'Newexten', 'Hangup', 'CoreShowChannel']);

export interface NormalizeIssue {
  readonly reason: 'bad-remote-address' | 'missing-field' | 'bad-event-time';
  readonly event: string;
  readonly detail: string;
}

export interface NormalizerCounters {
  frames: number;
  security: number;
  call: number;
  attempts: number;
  retransmits: number;
  ignored: number;
  malformed: number;
}

/**
 * AMI frames -> typed domain events. Stateful only in two bounded ways: the
 * latest event time (for events without EventTV) and the retransmit deduper.
 */
export class Normalizer {
  private lastTime = 0;
  private lastLocalText = '';
  /** lastLocalText as words, for frames read from an ASCII chunk (empty if it does not fit). */
  private readonly lastLocalWords = new Words(MAX_ADDRESS);
  private lastLocalEp: Endpoint | null = null;
  private readonly dedupe: AttemptDeduper;
  readonly counters: NormalizerCounters = { frames: 0, security: 0, call: 0, attempts: 0, retransmits: 0, ignored: 0, malformed: 0 };

  constructor(
    private readonly onIssue: (issue: NormalizeIssue) => void = () => {},
    opts: { retransmitTtlMs?: number; maxDedupeKeys?: number; clock?: () => number } = {},
  ) {
    this.dedupe = new AttemptDeduper(opts.retransmitTtlMs, opts.maxDedupeKeys);
    this.clock = opts.clock ?? Date.now;
  }
  private readonly clock: () => number;

  /** The latest event time seen (or the clock before any event). */
  get now(): number {
    return this.lastTime || this.clock();
  }

  normalize(frame: AmiFrame): DomainEvent | null {
    this.counters.frames++;
    if (frame instanceof TextFrame) {
      // Indexed by the framer as it found the frame; a frame made elsewhere is indexed here.
      let sp = frame.index;
      let at = frame.at;
      let text = frame.source;
      let from = frame.start;
      let to = frame.end;
      if (sp === undefined) {
        text = frame.text;
        from = 0;
        to = text.length;
        scanSecurityText(text, SPANS);
        sp = SPANS;
        at = 0;
      }
      const b = frame.bytes;
      const bo = frame.byteAt;
      const event = eventAt(text, sp[at + EVENT]!, sp[at + EVENT + 1]!, b, bo);
      if (event !== undefined) {
        if (SECURITY.has(event)) return this.securityFromText(event as SecurityEventType, text, from, to, sp, at, b, bo);
        return this.call(event as CallEventType, frame);
      }
      this.counters.ignored++;
      return null;
    }
    let event = '';
    for (const [k, v] of frame.headers) {
      if (k === 'Event') {
        event = v;
        break;
      }
    }
    const sec = SECURITY.get(event);
    if (sec !== undefined) {
      readSecurityHeaders(frame.headers, F);
      return this.security(sec, F, this.localOf(F.local), F.extra);
    }
    if (CALL.has(event)) return this.call(event as CallEventType, frame);
    this.counters.ignored++;
    return null;
  }

  private time(tv: string, event: string, parsed = NaN): number {
    if (parsed === parsed) {
      if (parsed > this.lastTime) this.lastTime = parsed;
      return parsed;
    }
    if (tv !== '') {
      const t = parseEventTV(tv);
      if (Number.isFinite(t)) {
        if (t > this.lastTime) this.lastTime = t;
        return t;
      }
      this.issue({ reason: 'bad-event-time', event, detail: tv });
    }
    return this.now;
  }

  /** The security event of a frame text: fields read in place, only the values kept are sliced. */
  private securityFromText(type: SecurityEventType, text: string, from: number, to: number, sp: Int32Array, at: number, b: DataView | null, bo: number): SecurityEvent | null {
    const f = F;
    // EventTV in Asterisk's form is read in place; anything else is sliced and parsed as before.
    const ts = sp[at + TV]!;
    f.tvTime = ts < 0 ? NaN : parseEventTVAt(text, ts, sp[at + TV + 1]!, b, bo);
    f.tv = f.tvTime === f.tvTime ? '' : spanText(text, sp, at, TV);
    const ss = sp[at + SERVICE]!;
    f.service = ss < 0 ? '' : (constantAt(SERVICE_NAMES, text, ss, sp[at + SERVICE + 1]!, b, bo) ?? detach(clip(spanText(text, sp, at, SERVICE))));
    f.account = accountAt(text, sp, at, b, bo);
    // The common IPv4 form is parsed in place from the chunk's bytes; anything else from its text.
    const rs = sp[at + REMOTE]!;
    const remoteEp = rs < 0 || b === null ? undefined : parseIpv4AddressAt(b, bo + rs, bo + sp[at + REMOTE + 1]!, text, bo);
    f.remote = remoteEp === undefined ? spanText(text, sp, at, REMOTE) : '';
    const vs = sp[at + SEVERITY]!;
    f.severity = vs < 0 ? '' : (constantAt(SEVERITIES, text, vs, sp[at + SEVERITY + 1]!, b, bo) ?? spanText(text, sp, at, SEVERITY));
    // LocalAddress is nearly always the text seen last: compared in place, parsed once.
    let localEp: Endpoint | null = null;
    const ls = sp[at + LOCAL]!;
    const le = sp[at + LOCAL + 1]!;
    if (ls >= 0 && le > ls) {
      const last = this.lastLocalText;
      const same = b !== null ? sameBytes(b, bo + ls, le - ls, this.lastLocalWords) : le - ls === last.length && text.startsWith(last, ls);
      localEp = same ? this.lastLocalEp : this.localOf(detachAt(text, ls, le));
    }
    // The attempt key from the chunk's bytes (the strings path gives the same key).
    f.key = undefined;
    if (b !== null && remoteEp !== undefined && FAILURE_TYPES.has(type)) {
      const s0 = sp[at + SESSION]!;
      const a0 = sp[at + ACCOUNT]!;
      const r0 = sp[at + RESPONSE]!;
      // The address is the text after `IPV4/<transport>/` in RemoteAddress.
      const ipAt = bo + rs + 6 + remoteEp.transport.length;
      f.key = attemptKeyAt(type, f.service, b, ipAt, remoteEp.ip.length, bo + s0, capped(sp, at, SESSION), bo + a0, capped(sp, at, ACCOUNT), bo + r0, capped(sp, at, RESPONSE));
    }
    // From the framer's index (never written again) the event reads SessionID and Response itself
    // when asked; an attempt key made from the strings needs them now.
    const lazy = sp !== SPANS && (f.key !== undefined || !FAILURE_TYPES.has(type));
    f.sessionId = lazy ? '' : clip(spanText(text, sp, at, SESSION));
    f.response = lazy ? '' : clip(spanText(text, sp, at, RESPONSE));
    return this.security(type, f, localEp, text, remoteEp, from, to, lazy ? sp : undefined, at);
  }

  /** The Endpoint of a LocalAddress (memoised: nearly always the same few strings; Endpoints are immutable). */
  private localOf(local: string): Endpoint | null {
    if (!local) return null;
    if (local !== this.lastLocalText) {
      this.lastLocalText = local;
      this.lastLocalWords.set(local);
      this.lastLocalEp = parseAmiAddress(local);
    }
    return this.lastLocalEp;
  }

  private security(type: SecurityEventType, f: SecurityFields, localEp: Endpoint | null, extra: string | Record<string, string> | undefined, parsed?: Endpoint, from = 0, to = 0, spans?: Int32Array, at = 0): SecurityEvent | null {
    const { tv, service, account, sessionId, remote, severity, response } = f;
    const remoteEp = parsed ?? parseAmiAddress(remote);
    if (!remoteEp) {
      this.issue({ reason: remote ? 'bad-remote-address' : 'missing-field', event: type, detail: remote ? clip(remote) : 'RemoteAddress' });
      return null;
    }
    const time = this.time(tv, type, f.tvTime);
    let attempt = false;
    if (FAILURE_TYPES.has(type)) {
      const key = f.key !== undefined ? f.key : attemptKey(type, service, remoteEp.ip, sessionId, account, response);
      attempt = key === null || this.dedupe.isNew(key, time);
      if (attempt) this.counters.attempts++;
      else this.counters.retransmits++;
    }
    this.counters.security++;
    return new SecurityEventRecord(type, time, service, account, spans === undefined ? sessionId : undefined, remoteEp, localEp, severity, attempt, extra, response, from, to, spans, at);
  }

  private call(type: CallEventType, frame: AmiFrame): CallEvent | null {
    let tv = '', channel = '', uniqueId = '', linkedId = '', callerIdNum = '', context = '', exten = '';
    let extra: Record<string, string> | undefined;
    for (const [k, v] of frame.headers) {
      switch (k) {
        case 'Event': case 'Privilege': break;
        case 'EventTV': tv = v; break;
        case 'Channel': channel = clip(v); break;
        case 'Uniqueid': uniqueId = clip(v); break;
        case 'Linkedid': linkedId = clip(v); break;
        case 'CallerIDNum': callerIdNum = clip(v); break;
        case 'Context': context = clip(v); break;
        case 'Exten': exten = clip(v); break;
        case 'DestChannel': case 'DialString': case 'Application': case 'AppData': case 'Cause': case 'Cause-txt':
        case 'ChannelStateDesc': case 'DestUniqueid': case 'Duration': case 'BridgeId': case 'ActionID':
          (extra ??= {})[k] = clip(v);
          break;
        default:
          break;
      }
    }
    if (!channel || !uniqueId) {
      this.issue({ reason: 'missing-field', event: type, detail: !channel ? 'Channel' : 'Uniqueid' });
      return null;
    }
    this.counters.call++;
    return {
      kind: 'call',
      type,
      time: this.time(tv, type),
      channel,
      uniqueId,
      linkedId: linkedId || uniqueId,
      callerIdNum,
      context,
      exten,
      extra: extra ?? EMPTY,
    };
  }

  private issue(i: NormalizeIssue): void {
    this.counters.malformed++;
    this.onIssue(i);
  }

  /** Expire retransmit keys; call when the stream is quiet. */
  sweep(now = this.now): void {
    this.dedupe.trim(now);
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** The fields of a security event, read from headers or straight from frame text. */
interface SecurityFields {
  tv: string;
  /** EventTV already parsed in place, or NaN. */
  tvTime: number;
  /** The attempt key already made from the frame's bytes; undefined: make it from the strings. */
  key: number | null | undefined;
  service: string;
  account: string;
  sessionId: string;
  remote: string;
  local: string;
  severity: string;
  response: string;
  extra: Record<string, string> | undefined;
}

// Scratch space refilled per frame: the normalizer is synchronous and never re-entered.
const SPANS = new Int32Array(SPAN_WIDTH);
const F: SecurityFields = { tv: '', tvTime: NaN, key: undefined, service: '', account: '', sessionId: '', remote: '', local: '', severity: '', response: '', extra: undefined };

function resetFields(f: SecurityFields): void {
  f.tvTime = NaN;
  f.key = undefined;
  f.tv = f.service = f.account = f.sessionId = f.remote = f.local = f.severity = f.response = '';
  f.extra = undefined;
}

/** Sets one header; the last of a repeated key wins, as in a header list. */
function setField(f: SecurityFields, k: string, v: string): void {
  switch (k) {
    case 'Event': case 'Privilege': case 'EventVersion': break;
    case 'EventTV': f.tv = v; break;
    case 'Service': f.service = constantAt(SERVICE_NAMES, v, 0, v.length, null, 0) ?? clip(v); break;
    case 'AccountID': f.account = detach(clip(v)); break;
    case 'SessionID': f.sessionId = clip(v); break;
    case 'RemoteAddress': f.remote = v; break;
    case 'LocalAddress': f.local = v; break;
    case 'Severity': f.severity = v; break;
    case 'Response': f.response = clip(v); break;
    default:
      (f.extra ??= {})[k] = clip(v);
  }
}

function readSecurityHeaders(headers: ReadonlyArray<readonly [string, string]>, f: SecurityFields): void {
  resetFields(f);
  for (const [k, v] of headers) setField(f, k, v);
}

/** The AccountID of a frame text, clipped and detached, as the header path keeps it (from the chunk's bytes when at hand). */
function accountAt(text: string, sp: Int32Array, at: number, b: DataView | null, bo: number): string {
  const s = sp[at + ACCOUNT]!;
  if (s < 0) return '';
  const e = s + capped(sp, at, ACCOUNT);
  return b !== null ? ACCOUNTS.textAt(b, bo + s, e - s, text, bo) : detachAt(text, s, e);
}

/** AccountIDs repeat across events and sources: one string each (text-cache.ts). */
const ACCOUNTS = new TextCache(detachBytes);

/** Length of span `f` as its value is kept (cut to MAX_FIELD, as clip() does); 0 when absent. */
function capped(sp: Int32Array, at: number, f: number): number {
  const s = sp[at + f]!;
  return s < 0 ? 0 : Math.min(sp[at + f + 1]! - s, MAX_FIELD);
}

/** A name the normalizer turns into its constant, with its bytes for frames read from an ASCII chunk. */
interface Constant {
  readonly name: string;
  readonly words: Words;
}
const constants = (names: readonly string[]): Constant[] => names.map((name) => ({ name, words: Words.of(name) }));

// Event names by length: the name in a frame is found among its constants in place, no slice or hash.
const EVENT_NAMES: ReadonlyArray<readonly Constant[] | undefined> = (() => {
  const byLen: Constant[][] = [];
  for (const c of constants([...SECURITY.keys(), ...CALL])) (byLen[c.name.length] ??= []).push(c);
  return byLen;
})();

/** The security or call event name at text[start, end), as its constant; undefined for any other. */
function eventAt(text: string, start: number, end: number, b: DataView | null, bo: number): string | undefined {
  const names = start < 0 ? undefined : EVENT_NAMES[end - start];
  return names === undefined ? undefined : constantAt(names, text, start, end, b, bo);
}

const SERVICE_NAMES = constants(['PJSIP', 'SIP', 'AMI', 'IAX2', 'ARI', 'chan_sip', 'TEST']);
const SEVERITIES = constants(['Error', 'Informational']);

/** The constant equal to text[start, end) among `list`, if any: no slice for the common values. */
function constantAt(list: readonly Constant[], text: string, start: number, end: number, b: DataView | null, bo: number): string | undefined {
  const len = end - start;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c.name.length === len && (b !== null ? sameBytes(b, bo + start, len, c.words) : sameChars(text, start, c.name))) return c.name;
  }
  return undefined;
}
