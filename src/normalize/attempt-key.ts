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
 * A 53-bit hash of the parts (two 32-bit lanes, parts separated), so the
 * deduper keeps a number per attempt instead of a ~100-byte string. Two
 * different attempts share a key with odds of about n / 2^53: nil. The lanes
 * start from a random state per process: SessionID is the attacker's text, and
 * a known hash would let him make every guess collide with the last one, which
 * would then count as a retransmit.
 */
export function hashParts(a: string, b: string, c: string, d: string): number {
  H1 = SEED1;
  H2 = SEED2;
  mix(a);
  mix(b);
  mix(c);
  mix(d);
  return (H1 >>> 0) * 0x200000 + ((H2 >>> 0) & 0x1fffff);
}

const seeds = crypto.getRandomValues(new Uint32Array(2));
const SEED1 = (0x811c9dc5 ^ seeds[0]!) | 0;
const SEED2 = (0x01000193 ^ 0x5bd1e995 ^ seeds[1]!) | 0;
// Hash lanes kept at module level: no closure or array per event on the hot path.
let H1 = 0;
let H2 = 0;
function mix(s: string): void {
  let h1 = H1;
  let h2 = H2;
  const n = s.length;
  let i = 0;
  // Two UTF-16 units a step: half the rounds.
  for (; i + 1 < n; i += 2) {
    const w = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  if (i < n) {
    const w = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  // The part's length closes it, so ("ab", "c"), ("a", "bc") and ("a\0", "") all differ.
  H1 = Math.imul(h1 ^ (0x9e3779b9 + n), 0x01000193);
  H2 = Math.imul(h2 ^ (0x7f4a7c15 + n), 0x5bd1e995);
}

/**
 * Remembers attempt keys for the SIP retransmit lifetime (Timer F, 32 s) in
 * event time: a hash set in two typed arrays (open addressing), so a key
 * costs 16 bytes and a lookup touches one or two cache lines. An expired
 * entry is a free cell to the next insert; a rebuild keeps only live ones.
 * Past `maxKeys` live keys the oldest quarter (by expiry, estimated from a
 * sample) is dropped: memory stays bounded under a flood of unique keys.
 */
export class AttemptDeduper {
  private keys: Float64Array;
  /** Expiry of each cell; 0 = empty. */
  private until: Float64Array;
  private mask: number;
  /** Cells holding a key, expired or not. */
  private count = 0;
  private spareKeys: Float64Array | undefined;
  private spareUntil: Float64Array | undefined;

  constructor(
    private readonly ttlMs = 32_000,
    private readonly maxKeys = 200_000,
    /** Smallest table (a power of two); tests use a tiny one to force collisions. */
    private readonly minCells = 1024,
  ) {
    this.keys = new Float64Array(minCells);
    this.until = new Float64Array(minCells);
    this.mask = minCells - 1;
  }

  /** True when the key is new (an attempt), false for a retransmit. */
  isNew(key: number, now: number): boolean {
    const keys = this.keys;
    const until = this.until;
    const mask = this.mask;
    let reuse = -1;
    let i = spread(key) & mask;
    for (;; i = (i + 1) & mask) {
      const u = until[i]!;
      if (u === 0) break;
      if (keys[i] === key) {
        if (u >= now) return false;
        until[i] = now + this.ttlMs; // seen before, long ago: a new attempt
        return true;
      }
      if (reuse < 0 && u < now) reuse = i;
    }
    if (reuse < 0) {
      reuse = i;
      this.count++;
    }
    keys[reuse] = key;
    until[reuse] = now + this.ttlMs;
    if (this.count * 4 > until.length * 3 || this.count > this.maxKeys) this.rebuild(now);
    return true;
  }

  /** Drops expired keys; call when the stream is quiet. */
  trim(now: number): void {
    if (this.count > 0) this.rebuild(now);
  }

  /** Keys held, expired ones not yet dropped included. */
  get size(): number {
    return this.count;
  }

  /** Keeps the live keys (at most KEEP of maxKeys: the latest to expire) in a table sized for them. */
  private rebuild(now: number): void {
    const oldKeys = this.keys;
    const oldUntil = this.until;
    let live = 0;
    for (let i = 0; i < oldUntil.length; i++) if (oldUntil[i]! >= now) live++;
    const cutoff = live > this.maxKeys * KEEP ? this.cutoffFor(oldUntil, now, live) : now;
    let cells = this.minCells;
    while (cells * 3 < Math.min(live, this.maxKeys) * 6) cells *= 2; // at most half full
    // At the cap a rebuild comes every few thousand inserts at the same size: swap with
    // a spare pair instead of allocating 2 x 8 bytes a cell each time.
    let keys: Float64Array;
    let until: Float64Array;
    if (this.spareKeys !== undefined && this.spareKeys.length === cells) {
      keys = this.spareKeys.fill(0);
      until = this.spareUntil!.fill(0);
    } else {
      keys = new Float64Array(cells);
      until = new Float64Array(cells);
    }
    const mask = cells - 1;
    let count = 0;
    for (let i = 0; i < oldUntil.length; i++) {
      const u = oldUntil[i]!;
      if (u === 0 || u < cutoff) continue;
      const key = oldKeys[i]!;
      let j = spread(key) & mask;
      while (until[j] !== 0) j = (j + 1) & mask;
      keys[j] = key;
      until[j] = u;
      if (++count >= cells >>> 1) break; // cannot happen with the cutoff; a bound all the same
    }
    const sameSize = oldUntil.length === cells;
    this.spareKeys = sameSize ? oldKeys : undefined;
    this.spareUntil = sameSize ? oldUntil : undefined;
    this.keys = keys;
    this.until = until;
    this.mask = mask;
    this.count = count;
  }

  /** An expiry time keeping about KEEP of maxKeys of the `live` keys, estimated from a sample. */
  private cutoffFor(until: Float64Array, now: number, live: number): number {
    const sample: number[] = [];
    const step = Math.max(1, Math.floor(until.length / 4096));
    for (let i = 0; i < until.length; i += step) if (until[i]! >= now) sample.push(until[i]!);
    if (sample.length === 0) return now;
    sample.sort((a, b) => a - b);
    const drop = 1 - (this.maxKeys * KEEP) / live;
    return sample[Math.min(sample.length - 1, Math.max(0, Math.ceil(drop * sample.length)))]!;
  }
}

/** Share of maxKeys a rebuild at the cap keeps: the next one is a quarter of the cap of inserts away. */
const KEEP = 0.75;

/** Mixes the 53-bit key into 32 bits for the cell index. */
function spread(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 0x100000000) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
