// Synthetic AMI workloads built from the real captures in test/fixtures/ami:
// the security-event frames Asterisk 22 really sent (same header order, same
// fields, same sizes) with the source address, account, Call-ID, digest and
// EventTV rewritten. Nothing here touches a network: addresses are text.
//
// Addresses: IPv4 only from 198.18.0.0/15 (131072 addresses); when more
// distinct sources are needed (the memory bench) the rest are IPv6 from the
// lab's ULA fd00:5157::/48.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { framesFromBuffer } from '../../src/sources/ami/framer.ts';
import type { AmiFrame } from '../../src/domain/types.ts';

export const FIXTURES = fileURLToPath(new URL('../../test/fixtures/ami/', import.meta.url));

/** One recorded frame, as [key, value] pairs, with the fields we rewrite marked. */
export interface Template {
  readonly event: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** The first frame of each wanted event type in a capture. */
function pick(file: string, event: string, where: (f: AmiFrame) => boolean = () => true): Template {
  const frames = framesFromBuffer(readFileSync(join(FIXTURES, file)));
  const f = frames.find((x) => x.headers.some(([k, v]) => k === 'Event' && v === event) && where(x));
  if (!f) throw new Error(`no ${event} in ${file}`);
  return { event, headers: f.headers };
}

const svc = (s: string) => (f: AmiFrame) => f.headers.some(([k, v]) => k === 'Service' && v === s);

export function templates() {
  return {
    crf: pick('bruteforce-svcrack.ami', 'ChallengeResponseFailed'),
    sent: pick('bruteforce-svcrack.ami', 'ChallengeSent'),
    invalid: pick('register-flood-sipp.ami', 'InvalidAccountID'),
    acl: pick('failed-acl.ami', 'FailedACL'),
    ok: pick('bruteforce-svcrack.ami', 'SuccessfulAuth', svc('PJSIP')),
  };
}

export interface Fields {
  tv: string;
  account: string;
  session: string;
  remote: string;
  response?: string;
}

/** The value of header `k` after rewriting: the fields a workload varies, else the template's. */
function fieldValue(k: string, v: string, f: Fields): string {
  switch (k) {
    case 'EventTV':
    case 'SessionTV':
      return f.tv;
    case 'AccountID':
      return f.account;
    case 'SessionID':
      return f.session;
    case 'RemoteAddress':
      return f.remote;
    case 'Response':
      return f.response ?? v;
    default:
      return v;
  }
}

/** AMI wire text of a template with fields replaced. */
export function amiText(t: Template, f: Fields): string {
  let s = '';
  for (const [k, v] of t.headers) {
    const val = fieldValue(k, v, f);
    s += `${k}: ${val}\r\n`;
  }
  return s + '\r\n';
}

/**
 * The same event as a line of Asterisk's security.log (res_security_log):
 * `[date] SECURITY[tid] res_security_log.c: SecurityEvent="X",EventTV="...",...`
 * (format checked against a line from the lab: bench/throughput/security-log.sample).
 */
export function securityLogLine(t: Template, f: Fields, date: string): string {
  let s = `[${date}] SECURITY[13719] res_security_log.c: SecurityEvent="${t.event}"`;
  for (const [k, v] of t.headers) {
    if (k === 'Event' || k === 'Privilege') continue;
    const val = fieldValue(k, v, f);
    s += `,${k}="${val}"`;
  }
  return s + '\n';
}

/** i-th address of 198.18.0.0/15 (i < 131072). */
export function ipv4(i: number): string {
  return `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
}

/** i-th spoofed source: 198.18.0.0/15 first, then fd00:5157:0:XXXX::YYYY (16 per /64). */
export function spoofedSource(i: number): { family: 4 | 6; ip: string } {
  if (i < 131072) return { family: 4, ip: ipv4(i) };
  const j = i - 131072;
  return { family: 6, ip: `fd00:5157:0:${(j >> 4).toString(16)}::${((j & 15) + 1).toString(16)}` };
}

export function remoteOf(src: { family: 4 | 6; ip: string }, port = 5060): string {
  return `IPV${src.family}/UDP/${src.ip}/${port}`;
}

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));
const pad3 = (n: number) => (n < 10 ? '00' + n : n < 100 ? '0' + n : String(n));

/** EventTV text (`2026-11-23T16:18:24.526+0000`) and security.log date of a time. */
export function eventTv(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${pad3(d.getUTCMilliseconds())}+0000`;
}
export function logDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** Small deterministic PRNG (mulberry32): the same workload on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex32 = (r: () => number): string => {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((r() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
  return s;
};

export interface BotnetMix {
  /** Total security events. */
  readonly events: number;
  /** Distinct attacking sources (198.18.0.0/15). */
  readonly botnet: number;
  /** Legitimate phones (registering fine), at the end of 198.19.0.0/16. */
  readonly phones: number;
  /** Share of events from the phones. */
  readonly legitShare: number;
  /** Event-time rate (events per second of EventTV). */
  readonly rate: number;
  readonly start?: number;
  readonly seed?: number;
  /**
   * Attackers active at once. Real botnets come in waves (each source sends
   * its burst, svcrack hundreds of guesses in a row), so by default the
   * attack moves through the botnet with `active` sources interleaved at any
   * moment. 0 = every event from a uniformly random source (worst case for
   * cache locality, no real attack looks like that).
   */
  readonly active?: number;
}

export interface Workload {
  /** The AMI byte stream: greeting, login response, events. */
  readonly ami: Buffer;
  /** The same events as security.log lines (only if asked). */
  readonly log?: Buffer;
  readonly events: number;
  readonly failures: number;
  readonly byType: Record<string, number>;
}

/**
 * A botnet of `botnet` sources guessing passwords (ChallengeSent +
 * ChallengeResponseFailed, a new digest per guess and retransmits), scanning
 * accounts (InvalidAccountID) and hitting ACLs, mixed with phones that
 * register fine (ChallengeSent + SuccessfulAuth).
 */
export function botnetWorkload(m: BotnetMix, withLog = false): Workload {
  const t = templates();
  const r = rng(m.seed ?? 42);
  const start = m.start ?? Date.UTC(2026, 10, 23, 16, 0, 0);
  const parts: Buffer[] = [];
  const logParts: Buffer[] = [];
  let text = 'Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: cap-1\r\nMessage: Authentication accepted\r\n\r\n';
  let log = '';
  const byType: Record<string, number> = {};
  let failures = 0;
  let tvMs = -1;
  let tv = '';
  let date = '';
  const accounts = ['1001', '1002', '1003', '1004', 'admin', '100', '200', 'test', 'sip', '1000'];
  let lastCrf: Fields | undefined;
  const active = m.active ?? 1000;
  // Events per source, so the wave crosses the whole botnet once.
  const perSource = Math.max(1, (m.events * (1 - m.legitShare)) / m.botnet);
  for (let i = 0; i < m.events; i++) {
    const ms = start + Math.floor((i * 1000) / m.rate);
    if (ms !== tvMs) {
      tvMs = ms;
      tv = eventTv(ms);
      date = logDate(ms);
    }
    let tpl: Template;
    let f: Fields;
    const x = r();
    if (x < m.legitShare) {
      const phone = Math.floor(r() * m.phones);
      const src = { family: 4 as const, ip: ipv4(131072 - m.phones + phone) };
      const acc = String(2000 + phone);
      tpl = r() < 0.5 ? t.sent : t.ok;
      f = { tv, account: acc, session: `${hex32(r).slice(0, 10)}@${src.ip}`, remote: remoteOf(src, 5060) };
    } else {
      const which = active > 0 ? (Math.floor(i / perSource) + Math.floor(r() * active)) % m.botnet : Math.floor(r() * m.botnet);
      const src = { family: 4 as const, ip: ipv4(which) };
      const y = r();
      if (y < 0.05 && lastCrf) {
        // UDP retransmit of the previous guess: same SessionID and digest.
        tpl = t.crf;
        f = { ...lastCrf, tv };
      } else if (y < 0.6) {
        tpl = t.crf;
        f = { tv, account: accounts[Math.floor(r() * 4)]!, session: String((r() * 4e9) >>> 0), remote: remoteOf(src), response: hex32(r) };
        lastCrf = f;
      } else if (y < 0.8) {
        tpl = t.invalid;
        f = { tv, account: accounts[Math.floor(r() * accounts.length)]! + String(Math.floor(r() * 100)), session: `${i}-1643@${src.ip}`, remote: remoteOf(src, 5072) };
      } else if (y < 0.97) {
        tpl = t.sent;
        f = { tv, account: '<unknown>', session: `${i}-1643@${src.ip}`, remote: remoteOf(src, 5072) };
      } else {
        tpl = t.acl;
        f = { tv, account: '1003', session: String((r() * 4e9) >>> 0), remote: remoteOf(src) };
      }
    }
    byType[tpl.event] = (byType[tpl.event] ?? 0) + 1;
    if (tpl !== t.sent && tpl !== t.ok) failures++;
    text += amiText(tpl, f);
    if (withLog) log += securityLogLine(tpl, f, date);
    if (text.length > 1 << 20) {
      parts.push(Buffer.from(text, 'latin1'));
      text = '';
      if (withLog) {
        logParts.push(Buffer.from(log, 'latin1'));
        log = '';
      }
    }
  }
  parts.push(Buffer.from(text, 'latin1'));
  if (withLog) logParts.push(Buffer.from(log, 'latin1'));
  return { ami: Buffer.concat(parts), ...(withLog ? { log: Buffer.concat(logParts) } : {}), events: m.events, failures, byType };
}

/** Split a stream into TCP-read-sized chunks (default 64 KiB, what net.Socket hands out). */
export function chunks(buf: Buffer, size = 65536): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, Math.min(buf.length, i + size)));
  return out;
}
