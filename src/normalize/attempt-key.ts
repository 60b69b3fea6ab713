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
  return hashParts(kindPart(type), ip, sessionId, type === 'ChallengeResponseFailed' ? response : account);
}

/** The first part of a type's key: a letter for the two common types, else the type's name. */
function kindPart(type: SecurityEventType): string {
  return type === 'ChallengeResponseFailed' ? 'C' : type === 'InvalidAccountID' ? 'I' : type;
}

/**
 * attemptKey for a frame read from an ASCII chunk: the source address, SessionID,
 * AccountID and Response hashed straight from the chunk's bytes (at, length; already
 * cut to the field cap), four at a time. Gives what attemptKey gives on the same text.
 */
export function attemptKeyAt(
  type: SecurityEventType,
  service: string,
  b: DataView,
  ipAt: number,
  ipLen: number,
  sessionAt: number,
  sessionLen: number,
  accountAt: number,
  accountLen: number,
  responseAt: number,
  responseLen: number,
): number | null {
  if (service === 'AMI' || sessionLen === 0) return null;
  H1 = SEED1;
  H2 = SEED2;
  mix(kindPart(type));
  mixBytes(b, ipAt, ipLen);
  mixBytes(b, sessionAt, sessionLen);
  if (type === 'ChallengeResponseFailed') mixBytes(b, responseAt, responseLen);
  else mixBytes(b, accountAt, accountLen);
  return (H1 >>> 0) * 0x200000 + ((H2 >>> 0) & 0x1fffff);
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

/** mix() of the latin1 text of bytes [at, at + n): the same two units a step, read a word at a time. */
function mixBytes(b: DataView, at: number, n: number): void {
  let h1 = H1;
  let h2 = H2;
  let i = 0;
  if (at + n <= b.byteLength) {
    for (; i + 4 <= n; i += 4) {
      const w = b.getUint32(at + i, true);
      const p1 = (w & 0xff) | ((w << 8) & 0xff0000);
      h1 = Math.imul(h1 ^ p1, 0x01000193);
      h2 = Math.imul(h2 ^ p1, 0x5bd1e995);
      h2 ^= h2 >>> 15;
      const p2 = ((w >>> 16) & 0xff) | ((w >>> 24) << 16);
      h1 = Math.imul(h1 ^ p2, 0x01000193);
      h2 = Math.imul(h2 ^ p2, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  for (; i + 1 < n; i += 2) {
    const w = b.getUint8(at + i) | (b.getUint8(at + i + 1) << 16);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  if (i < n) {
    const w = b.getUint8(at + i);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  H1 = Math.imul(h1 ^ (0x9e3779b9 + n), 0x01000193);
  H2 = Math.imul(h2 ^ (0x7f4a7c15 + n), 0x5bd1e995);
}

/**
 * Remembers attempt keys for the SIP retransmit lifetime (Timer F, 32 s) in
 * event time: a hash set in two typed arrays (open addressing), so a key
 * costs 16 bytes and a lookup touches one or two cache lines. An expired
 * entry is a free cell to the next insert; a rebuild keeps only live ones.
 * Past `maxKeys` live keys the oldest half (by expiry, estimated from a
 * sample) is dropped: memory stays bounded under a flood of unique keys.
 */
export class AttemptDeduper {
  /**
   * Cell i is [2i] the key and [2i + 1] its expiry (0 = empty): one array, so
   * a probe reads one cache line, not one in each of two arrays.
   */
  private cells: Float64Array;
  /** Cells in the table (any size: a cell is found by multiply-shift, not a mask). */
  private cellCount: number;
  /** Cells holding a key, expired or not. */
  private count = 0;
  private spare: Float64Array | undefined;

  constructor(
    private readonly ttlMs = 32_000,
    private readonly maxKeys = 200_000,
    /** Smallest table, and the step tables grow by; tests use a tiny one to force collisions. */
    private readonly minCells = 1024,
  ) {
    this.cells = new Float64Array(minCells * 2);
    this.cellCount = minCells;
  }

  /** True when the key is new (an attempt), false for a retransmit. */
  isNew(key: number, now: number): boolean {
    const c = this.cells;
    const n = this.cellCount;
    let reuse = -1;
    let i = cellOf(key, n);
    for (;; i = i + 1 === n ? 0 : i + 1) {
      const u = c[2 * i + 1]!;
      if (u === 0) break;
      if (c[2 * i] === key) {
        if (u >= now) return false;
        c[2 * i + 1] = now + this.ttlMs; // seen before, long ago: a new attempt
        return true;
      }
      if (reuse < 0 && u < now) reuse = i;
    }
    if (reuse < 0) {
      reuse = i;
      this.count++;
    }
    c[2 * reuse] = key;
    c[2 * reuse + 1] = now + this.ttlMs;
    if (this.count * 4 > n * 3 || this.count > this.maxKeys) this.rebuild(now);
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
    const old = this.cells;
    const oldCells = old.length >> 1;
    let live = 0;
    for (let i = 0; i < oldCells; i++) if (old[2 * i + 1]! >= now) live++;
    const cutoff = live > this.maxKeys * KEEP ? this.cutoffFor(old, now, live) : now;
    // At most half full, sized to the keys (a power of two would be up to twice that: 8 MB, not 6, at 200k keys).
    const cells = Math.max(this.minCells, Math.ceil((Math.min(live, this.maxKeys) * 2) / this.minCells) * this.minCells);
    // At the cap a rebuild comes every few thousand inserts at the same size: swap with
    // a spare table instead of allocating 16 bytes a cell each time.
    const c = this.spare !== undefined && this.spare.length === cells * 2 ? this.spare.fill(0) : new Float64Array(cells * 2);
    let count = 0;
    for (let i = 0; i < oldCells; i++) {
      const u = old[2 * i + 1]!;
      if (u === 0 || u < cutoff) continue;
      const key = old[2 * i]!;
      let j = cellOf(key, cells);
      while (c[2 * j + 1] !== 0) j = j + 1 === cells ? 0 : j + 1;
      c[2 * j] = key;
      c[2 * j + 1] = u;
      if (++count >= cells >>> 1) break; // cannot happen with the cutoff; a bound all the same
    }
    this.spare = oldCells === cells ? old : undefined;
    this.cells = c;
    this.cellCount = cells;
    this.count = count;
  }

  /** An expiry time keeping about KEEP of maxKeys of the `live` keys, estimated from a sample. */
  private cutoffFor(cells: Float64Array, now: number, live: number): number {
    const sample: number[] = [];
    const n = cells.length >> 1;
    const step = Math.max(1, Math.floor(n / 4096));
    for (let i = 0; i < n; i += step) if (cells[2 * i + 1]! >= now) sample.push(cells[2 * i + 1]!);
    if (sample.length === 0) return now;
    sample.sort((a, b) => a - b);
    const drop = 1 - (this.maxKeys * KEEP) / live;
    return sample[Math.min(sample.length - 1, Math.max(0, Math.ceil(drop * sample.length)))]!;
  }
}

/**
 * Share of maxKeys a rebuild at the cap keeps: the next one is half the cap of
 * inserts away. Each rebuild re-inserts what it keeps, so keeping three
 * quarters cost three re-inserts per new key under a flood, half costs one.
 */
const KEEP = 0.5;

/** The cell of a key in a table of `n` cells. */
function cellOf(key: number, n: number): number {
  return Math.floor((spread(key) * n) / 4294967296);
}

/** Mixes the 53-bit key into 32 bits for the cell index. */
function spread(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 0x100000000) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
