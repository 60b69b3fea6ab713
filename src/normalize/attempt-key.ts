import type { SecurityEventType } from '../domain/types.ts';

/**
 * The identity of one *attempt*, so UDP retransmits (same Call-ID, same
 * digest) count once. Choosing the key is the security decision here:
 * svcrack sends every guess under one Call-ID and mostly one nonce, so a key
 * of SessionID (or SessionID + Challenge) would fold 150 guesses into 1.
 *   - ChallengeResponseFailed: (ip, SessionID, Response) - a new guess has a new digest.
 *   - InvalidAccountID: (ip, SessionID, AccountID) - scanners reuse Call-IDs too.
 *   - AMI service: none - its SessionID is a reused pointer, every frame is an attempt.
 *   - others: (ip, type, SessionID, AccountID).
 * Returns null when every frame is an attempt.
 */
export function attemptKey(
  type: SecurityEventType,
  service: string,
  ip: string,
  sessionId: string,
  account: string,
  response: string,
): number | null {
  if (service === 'AMI' || sessionId === '') return null;
  switch (type) {
    case 'ChallengeResponseFailed':
      return hashParts('C', ip, sessionId, response);
    case 'InvalidAccountID':
      return hashParts('I', ip, sessionId, account);
    default:
      return hashParts(type, ip, sessionId, account);
  }
}

/**
 * A 53-bit hash of the parts (two 32-bit FNV-1a lanes, parts separated), so
 * the deduper keeps a number per attempt instead of a ~100-byte string. Two
 * different attempts share a key with odds of about n / 2^53: nil.
 */
export function hashParts(a: string, b: string, c: string, d: string): number {
  H1 = 0x811c9dc5;
  H2 = 0x01000193 ^ 0x5bd1e995;
  mix(a);
  mix(b);
  mix(c);
  mix(d);
  return (H1 >>> 0) * 0x200000 + ((H2 >>> 0) & 0x1fffff);
}

// Hash lanes kept at module level: no closure or array per event on the hot path.
let H1 = 0;
let H2 = 0;
function mix(s: string): void {
  let h1 = H1;
  let h2 = H2;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  // A separator no UTF-16 unit equals, so ("ab","c") and ("a","bc") differ.
  H1 = Math.imul(h1 ^ 0x10000, 0x01000193);
  H2 = Math.imul(h2 ^ 0x10000, 0x5bd1e995);
}

/**
 * Remembers attempt keys for the SIP retransmit lifetime (Timer F, 32 s) in
 * event time. Map insertion order is time order, so expiry trims the front;
 * a hard cap bounds memory under a flood of unique keys.
 */
export class AttemptDeduper {
  private readonly seen = new Map<number, number>();
  constructor(
    private readonly ttlMs = 32_000,
    private readonly maxKeys = 200_000,
  ) {}

  /** True when the key is new (an attempt), false for a retransmit. */
  isNew(key: number, now: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until >= now) return false;
    if (until !== undefined) this.seen.delete(key);
    this.seen.set(key, now + this.ttlMs);
    if (this.seen.size > this.maxKeys) this.trim(now, true);
    return true;
  }

  trim(now: number, force = false): void {
    for (const [key, until] of this.seen) {
      if (until >= now && !(force && this.seen.size > this.maxKeys * 0.9)) break;
      this.seen.delete(key);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
