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

/** One generation of the deduper: a hash set of keys and their expiry (open addressing). */
class Generation {
  /** Cell i is [2i] the key and [2i + 1] its expiry: one array, so a cell is one place in memory. */
  cells: Float64Array;
  /** Cell i's tag: 0 for an empty cell, else tagOf(spread(key)). */
  tags: Uint8Array;
  /** Cells in the table (any size: a cell is found by multiply-shift, not a mask). */
  n: number;
  /** Keys held, expired or not. */
  count = 0;
  /** Event time of the first and the latest key put here. */
  first = 0;
  last = 0;

  constructor(n: number) {
    this.cells = new Float64Array(n * 2);
    this.tags = new Uint8Array(n);
    this.n = n;
  }

  /** The cell holding `key` (>= 0), or -1 - the empty cell where its probe ended. */
  find(key: number, h: number): number {
    const tags = this.tags;
    const c = this.cells;
    const n = this.n;
    const tag = tagOf(h);
    let i = cellAt(h, n);
    for (;; i = i + 1 === n ? 0 : i + 1) {
      const t = tags[i]!;
      if (t === 0) return -1 - i;
      if (t === tag && c[2 * i] === key) return i;
    }
  }

  /** Puts a key known to be absent into the empty cell `i`. */
  put(i: number, key: number, h: number, until: number, now: number): void {
    this.tags[i] = tagOf(h);
    this.cells[2 * i] = key;
    this.cells[2 * i + 1] = until;
    if (this.count++ === 0) this.first = now;
    this.last = now;
  }

  /** Empty, keeping its arrays (only the tags say what a cell holds). */
  clear(): void {
    if (this.count > 0) this.tags.fill(0);
    this.count = 0;
  }

  /** Empty, with a table of `n` cells. */
  resize(n: number): void {
    this.cells = new Float64Array(n * 2);
    this.tags = new Uint8Array(n);
    this.n = n;
    this.count = 0;
  }

  /** The same keys in a table of `n` cells. */
  regrow(n: number): void {
    const { cells, tags, n: old, count, first, last } = this;
    this.resize(n);
    for (let i = 0; i < old; i++) {
      if (tags[i] === 0) continue;
      const key = cells[2 * i]!;
      const j = -1 - this.find(key, spread(key));
      this.tags[j] = tags[i]!;
      this.cells[2 * j] = key;
      this.cells[2 * j + 1] = cells[2 * i + 1]!;
    }
    this.count = count;
    this.first = first;
    this.last = last;
  }
}

/**
 * Remembers attempt keys for the SIP retransmit lifetime (Timer F, 32 s) in
 * event time, bounded by `maxKeys`, in two generations. New keys go to the
 * current one. When it holds half of maxKeys, or its first key expires, the
 * previous one is dropped and the current one takes its place. So under a
 * flood of unique keys the newest half to all of maxKeys are known, no key is
 * ever re-inserted, and the arrays are reused, not made again.
 *
 * A cell costs 17 bytes: 16 for the key and its expiry, and a one-byte tag (0
 * = empty, else 8 bits of the key's hash). Nearly every failure of a flood is
 * a new attempt, so most lookups end at an empty cell: the tags, a sixteenth
 * of the table, answer them from the CPU's cache, and a 16-byte cell is read
 * only where its tag matches (a retransmit, or 1 in 255 of the cells probed).
 */
export class AttemptDeduper {
  private cur: Generation;
  private prev: Generation;
  /** Keys a generation holds before it is retired (half of maxKeys). */
  private readonly half: number;
  /** Cells of a full generation: then half full. */
  private readonly maxCells: number;

  constructor(
    private readonly ttlMs = 32_000,
    maxKeys = 200_000,
    /** Smallest table, and the step tables grow by; tests use a tiny one to force collisions. */
    private readonly minCells = 1024,
  ) {
    this.half = Math.max(1, Math.ceil(maxKeys / 2));
    this.maxCells = Math.max(minCells, Math.ceil((this.half * 2) / minCells) * minCells);
    this.cur = new Generation(minCells);
    this.prev = new Generation(minCells);
  }

  /** True when the key is new (an attempt), false for a retransmit. */
  isNew(key: number, now: number): boolean {
    const ttl = this.ttlMs;
    // Retired once its first key expires: the previous one's keys, all older, have expired
    // too and are dropped; so every key of the current generation is live.
    if (this.cur.count > 0 && this.cur.first + ttl < now) this.retire();
    const cur = this.cur;
    const prev = this.prev;
    const h = spread(key);
    const i = cur.find(key, h);
    if (i >= 0) return false;
    if (prev.count > 0) {
      const j = prev.find(key, h);
      // Expired there: a new attempt, kept in the current generation.
      if (j >= 0 && prev.cells[2 * j + 1]! >= now) return false;
    }
    cur.put(-1 - i, key, h, now + ttl, now);
    if (cur.count >= this.half) this.retire();
    else if (cur.count * 4 > cur.n * 3) cur.regrow(Math.min(this.maxCells, cur.n * 2));
    return true;
  }

  /** Drops the generations whose keys have all expired; call when the stream is quiet. */
  trim(now: number): void {
    const ttl = this.ttlMs;
    // An empty generation keeps no large arrays either (the one a retirement emptied).
    for (const g of [this.prev, this.cur]) if ((g.count === 0 || g.last + ttl < now) && (g.count > 0 || g.n > this.minCells)) g.resize(this.minCells);
  }

  /** Keys held, expired ones not yet dropped included. */
  get size(): number {
    return this.cur.count + this.prev.count;
  }

  /** The current generation becomes the previous one, and the old previous one, emptied, the current one. */
  private retire(): void {
    const next = this.prev;
    this.prev = this.cur;
    next.clear();
    // Under a flood the generations are the same size: the arrays serve again as they are.
    if (next.n !== this.prev.n && this.prev.count >= this.half) next.resize(this.prev.n);
    this.cur = next;
  }
}

/** The cell of a key (by its spread hash) in a table of `n` cells: from the hash's high bits. */
function cellAt(h: number, n: number): number {
  return Math.floor((h * n) / 4294967296);
}

/** A cell's tag from the hash's low 8 bits (the cell comes from the high ones), never 0. */
function tagOf(h: number): number {
  return (h & 0xff) || 1;
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
