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
): string | null {
  if (service === 'AMI' || sessionId === '') return null;
  switch (type) {
    case 'ChallengeResponseFailed':
      return `C\u0000${ip}\u0000${sessionId}\u0000${response}`;
    case 'InvalidAccountID':
      return `I\u0000${ip}\u0000${sessionId}\u0000${account}`;
    default:
      return `${type}\u0000${ip}\u0000${sessionId}\u0000${account}`;
  }
}

/**
 * Remembers attempt keys for the SIP retransmit lifetime (Timer F, 32 s) in
 * event time. Map insertion order is time order, so expiry trims the front;
 * a hard cap bounds memory under a flood of unique keys.
 */
export class AttemptDeduper {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs = 32_000,
    private readonly maxKeys = 200_000,
  ) {}

  /** True when the key is new (an attempt), false for a retransmit. */
  isNew(key: string, now: number): boolean {
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
