import type { Endpoint, SecurityEvent, SecurityEventType } from '../domain/types.ts';
import { EMPTY_VALUE, forEachHeader, knownKey, lineEnd, lineKind } from '../sources/ami/framer.ts';

/** Header values longer than this are attacker padding: cut, never stored whole. */
export const MAX_FIELD = 256;
export const clip = (s: string): string => (s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s);

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A security event. `extra` (the headers no detector reads) is built from the
 * frame text only when asked for: most events never need it.
 */
export class SecurityEventRecord implements SecurityEvent {
  readonly kind = 'security' as const;
  readonly local?: Endpoint;
  #text: string | undefined;
  #extra: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly type: SecurityEventType,
    readonly time: number,
    readonly service: string,
    readonly account: string,
    readonly sessionId: string,
    readonly remote: Endpoint,
    local: Endpoint | null,
    readonly severity: string,
    readonly attempt: boolean,
    /** The frame text (extra read from it on demand), or the other headers as a record. */
    extra: string | Readonly<Record<string, string>> | undefined,
    response = '',
  ) {
    if (local) this.local = local;
    if (typeof extra === 'string') {
      this.#text = extra;
      this.#response = response;
    } else this.#extra = withResponse(extra, response);
  }

  #response = '';

  get extra(): Readonly<Record<string, string>> {
    if (this.#extra === undefined) {
      this.#extra = extraFromText(this.#text!, this.#response);
      this.#text = undefined;
    }
    return this.#extra;
  }

  toJSON(): SecurityEvent {
    const { kind, type, time, service, account, sessionId, remote, local, severity, attempt, extra } = this;
    return local ? { kind, type, time, service, account, sessionId, remote, local, severity, attempt, extra } : { kind, type, time, service, account, sessionId, remote, severity, attempt, extra };
  }
}

// Field spans in SPANS: [start, end) pairs, -1 when the header is absent.
export const TV = 0;
export const SERVICE = 2;
export const ACCOUNT = 4;
export const SESSION = 6;
export const REMOTE = 8;
export const LOCAL = 10;
export const SEVERITY = 12;
export const RESPONSE = 14;
const SKIP = -2;
const OTHER = -1;

/** text[pos, pos + key.length) === key, by char codes (startsWith costs a builtin call per key). */
function keyAt(text: string, pos: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) if (text.charCodeAt(pos + i) !== key.charCodeAt(i)) return false;
  return true;
}

/** Which field a key names: a span index, SKIP (read nowhere) or OTHER (goes to extra). */
function fieldOf(text: string, pos: number, end: number): number {
  const c = text.charCodeAt(pos);
  switch (end - pos) {
    case 5:
      return c === 0x45 && keyAt(text, pos, 'Event') ? SKIP : OTHER;
    case 7:
      return c === 0x45 ? (keyAt(text, pos, 'EventTV') ? TV : OTHER) : c === 0x53 && keyAt(text, pos, 'Service') ? SERVICE : OTHER;
    case 8:
      return c === 0x53 ? (keyAt(text, pos, 'Severity') ? SEVERITY : OTHER) : c === 0x52 && keyAt(text, pos, 'Response') ? RESPONSE : OTHER;
    case 9:
      if (c === 0x41) return keyAt(text, pos, 'AccountID') ? ACCOUNT : OTHER;
      if (c === 0x53) return keyAt(text, pos, 'SessionID') ? SESSION : OTHER;
      return c === 0x50 && keyAt(text, pos, 'Privilege') ? SKIP : OTHER;
    case 12:
      return c === 0x4c ? (keyAt(text, pos, 'LocalAddress') ? LOCAL : OTHER) : c === 0x45 && keyAt(text, pos, 'EventVersion') ? SKIP : OTHER;
    case 13:
      return c === 0x52 && keyAt(text, pos, 'RemoteAddress') ? REMOTE : OTHER;
    default:
      return OTHER;
  }
}

/**
 * Fills `spans` with where each field's value is (the last of a repeated key
 * wins). The line walk of forEachHeader, written out: this runs for every
 * security event, and a callback per line is what it avoids.
 */
export function scanSecurityText(text: string, spans: Int32Array): void {
  spans.fill(-1);
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let eol = lineEnd(text, pos);
    if (eol < 0) eol = len;
    if (eol > pos) {
      const sep = lineKind(text, pos, eol);
      if (sep >= 0 || sep === EMPTY_VALUE) {
        const keyEnd = sep >= 0 ? sep : eol - 1;
        const f = fieldOf(text, pos, keyEnd);
        if (f >= 0) {
          spans[f] = sep >= 0 ? sep + 2 : eol;
          spans[f + 1] = eol;
        }
      }
    }
    pos = eol + 2;
  }
}

/** The value of a span, or ''. */
export function spanText(text: string, spans: Int32Array, f: number): string {
  const s = spans[f]!;
  return s < 0 ? '' : text.slice(s, spans[f + 1]!);
}

/** The headers no field takes, as the header path collects them, then Response. */
function extraFromText(text: string, response: string): Readonly<Record<string, string>> {
  let extra: Record<string, string> | undefined;
  forEachHeader(text, (ks, ke, vs, ve) => {
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
