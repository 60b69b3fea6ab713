import type { Endpoint, SecurityEvent, SecurityEventType } from '../domain/types.ts';
import { forEachHeader, knownKey } from '../sources/ami/framer.ts';
import { OTHER, RESPONSE, SESSION, fieldOf, walkFrame } from '../sources/ami/header-index.ts';

/** Header values longer than this are attacker padding: cut, never stored whole. */
export const MAX_FIELD = 256;
export const clip = (s: string): string => (s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s);

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A security event. `extra` (the headers no detector reads) is built from the
 * frame text only when asked for, and so are SessionID and Response when the
 * framer's index says where they are: most events never need them.
 */
export class SecurityEventRecord implements SecurityEvent {
  readonly kind = 'security' as const;
  readonly local?: Endpoint;
  #text: string | undefined;
  #from = 0;
  #to = 0;
  #extra: Readonly<Record<string, string>> | undefined;
  #sessionId: string;
  #response = '';
  /** The framer's index of the frame (never written again), while SessionID and Response are still unread. */
  #spans: Int32Array | undefined = undefined;
  #at = 0;

  constructor(
    readonly type: SecurityEventType,
    readonly time: number,
    readonly service: string,
    readonly account: string,
    /** undefined: read from `spans` at `at` when asked for, as Response is. */
    sessionId: string | undefined,
    readonly remote: Endpoint,
    local: Endpoint | null,
    readonly severity: string,
    readonly attempt: boolean,
    /**
     * The text the frame is [from, to) of (extra read from it on demand), or the
     * other headers as a record. The text may be the chunk the frame came in:
     * an event is folded into the detectors' columns and dropped, and anything
     * kept from it (accounts, addresses, keys) is a string of its own.
     */
    extra: string | Readonly<Record<string, string>> | undefined,
    response = '',
    from = 0,
    to = typeof extra === 'string' ? extra.length : 0,
    spans?: Int32Array,
    at = 0,
  ) {
    if (local) this.local = local;
    this.#sessionId = sessionId ?? '';
    if (typeof extra === 'string') {
      this.#text = extra;
      this.#from = from;
      this.#to = to;
      this.#response = response;
      if (sessionId === undefined && spans !== undefined) {
        this.#spans = spans;
        this.#at = at;
      }
    } else this.#extra = withResponse(extra, response);
  }

  get sessionId(): string {
    if (this.#spans !== undefined) this.readSpans();
    return this.#sessionId;
  }

  /** SessionID and Response from the frame text, as the normalizer would have sliced them. */
  private readSpans(): void {
    const text = this.#text!;
    const sp = this.#spans!;
    this.#sessionId = clip(spanText(text, sp, this.#at, SESSION));
    this.#response = clip(spanText(text, sp, this.#at, RESPONSE));
    this.#spans = undefined;
  }

  get extra(): Readonly<Record<string, string>> {
    if (this.#extra === undefined) {
      if (this.#spans !== undefined) this.readSpans();
      this.#extra = extraFromText(this.#text!, this.#from, this.#to, this.#response);
      this.#text = undefined;
    }
    return this.#extra;
  }

  toJSON(): SecurityEvent {
    const { kind, type, time, service, account, sessionId, remote, local, severity, attempt, extra } = this;
    return local ? { kind, type, time, service, account, sessionId, remote, local, severity, attempt, extra } : { kind, type, time, service, account, sessionId, remote, severity, attempt, extra };
  }
}

/**
 * Fills `spans` (from 0) with where each field's value is in a frame text made
 * elsewhere than the framer (which indexes its frames as it finds them).
 */
export function scanSecurityText(text: string, spans: Int32Array): void {
  walkFrame(text, 0, spans, 0, true);
}

/** The value of span `f` of the index at `at`, or ''. */
export function spanText(text: string, spans: Int32Array, at: number, f: number): string {
  const s = spans[at + f]!;
  return s < 0 ? '' : text.slice(s, spans[at + f + 1]!);
}

/** The headers no field takes, as the header path collects them, then Response. */
function extraFromText(text: string, from: number, to: number, response: string): Readonly<Record<string, string>> {
  let extra: Record<string, string> | undefined;
  forEachHeader(text, from, to, (ks, ke, vs, ve) => {
    if (fieldOf(text, ks, ke) !== OTHER) return;
    (extra ??= {})[knownKey(text, ks, ke) ?? text.slice(ks, ke)] = clip(text.slice(vs, ve));
  });
  return withResponse(extra, response);
}

/** extra as events carry it: the other headers, then Response (when not empty). */
function withResponse(extra: Readonly<Record<string, string>> | undefined, response: string): Readonly<Record<string, string>> {
  if (response) return { ...extra, Response: response };
  return extra ?? EMPTY;
}
