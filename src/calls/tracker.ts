import type { AmiFrame, CallEvent, SecurityEvent } from '../domain/types.ts';
import { FAILURE_TYPES } from '../domain/types.ts';
import { classify, type Classification } from './classify.ts';
import { TimeRing } from './time-ring.ts';
import type { TollFraudConfig } from './config.ts';

/** One call in progress, by its originating channel. */
export interface TrackedCall {
  readonly uniqueId: string;
  readonly linkedId: string;
  /** Exact channel name (`PJSIP/1002-0000000a`). */
  readonly channel: string;
  /** Endpoint from the channel name, else CallerIDNum. Attacker-influenced: check before acting. */
  readonly account: string;
  /** Source address, when a SuccessfulAuth of the account came shortly before. */
  readonly ip?: string;
  dest: Classification;
  readonly startedAt: number;
  /** Why the account was suspect when the call started (compromise heuristic), if it was. */
  readonly suspect?: string;
  /** 'event': seen starting; 'list': learnt from CoreShowChannels after a (re)connect. */
  readonly source: 'event' | 'list';
}

/** What detectors see: starts count for rates, present/end/reset keep concurrency right. */
export type CallFact =
  | { readonly type: 'start'; readonly time: number; readonly call: TrackedCall }
  | { readonly type: 'present'; readonly time: number; readonly call: TrackedCall }
  | { readonly type: 'end'; readonly time: number; readonly call: TrackedCall }
  | { readonly type: 'reset'; readonly time: number };

/** Channel technologies whose channel name carries the endpoint: `PJSIP/<endpoint>-<seq>`. */
const ENDPOINT_CHANNEL = /^(?:PJSIP|SIP|IAX2)\/(.+)-[0-9a-f]{8}$/;
/** Extensions that are no dialed number (`s` start, `h` hangup, `i`, `t`...). */
const NOT_A_NUMBER = /^(?:[a-zA-Z]|s|h|i|t|T|e|o|a|fax|talk)$/;
const MAX_CALLS = 10_000;
const MAX_ACCOUNTS = 10_000;
/** Failures kept per account for the compromise heuristic. */
const MAX_FAILURES = 1000;

export function accountOf(channel: string, callerIdNum: string): string {
  const m = ENDPOINT_CHANNEL.exec(channel);
  if (m) return m[1]!;
  return callerIdNum === '<unknown>' ? '' : callerIdNum;
}

interface AccountState {
  ips: string[];
  /** Failure times of the window, the latest MAX_FAILURES. */
  readonly failures: TimeRing;
  suspectUntil: number;
  suspectWhy: string;
  lastAuth: { ip: string; time: number } | undefined;
}

/**
 * Calls in progress from AMI call events, per account, source IP and
 * overall. Only originating channels (Uniqueid = Linkedid) are calls; the
 * legs they dial are not counted twice. Calls are learnt back from
 * CoreShowChannels after a restart or reconnect, so counts stay right.
 */
export class CallTracker {
  private readonly calls = new Map<string, TrackedCall>();
  /** Channels seen that carry no number yet (Exten `s`), waiting for Newexten/DialBegin. */
  private readonly pending = new Map<string, { ev: CallEvent; time: number }>();
  private readonly accounts = new Map<string, AccountState>();
  private listSeen = new Set<string>();
  /** Insertion order of calls: a rebuild keeps calls that started after the list was asked for. */
  private seq = 0;
  private readonly seqOf = new Map<string, number>();
  private rebuildMark: number | undefined;
  private readonly out: (fact: CallFact) => void;
  readonly counters = { started: 0, ended: 0, learnt: 0, invalid: 0 };

  constructor(
    private cfg: TollFraudConfig,
    emit: (fact: CallFact) => void,
  ) {
    this.out = emit;
  }

  update(cfg: TollFraudConfig): void {
    this.cfg = cfg;
  }

  /** SuccessfulAuth gives the source IP of the next call; failures feed the compromise heuristic. */
  onSecurity(ev: SecurityEvent): void {
    if (ev.service !== 'PJSIP' || ev.account === '' || ev.account === '<unknown>') return;
    const c = this.cfg.compromise;
    if (ev.type !== 'SuccessfulAuth') {
      // InvalidAccountID names no endpoint, so no login can follow it; counted, a spray of
      // made-up names would only push the real accounts out of the table (MAX_ACCOUNTS).
      if (!ev.attempt || ev.type === 'InvalidAccountID' || !FAILURE_TYPES.has(ev.type)) return;
      const st = this.account(ev.account);
      st.failures.push(ev.time);
      st.failures.dropThrough(ev.time - c.failureWindowMs);
      return;
    }
    const st = this.account(ev.account);
    const ip = ev.remote.ip;
    const recentFailures = st.failures.countAfter(ev.time - c.failureWindowMs);
    if (c.failuresBefore > 0 && recentFailures >= c.failuresBefore) this.suspect(st, ev.time, `authenticated after ${recentFailures} failed attempts`);
    else if (c.newIp && st.ips.length > 0 && !st.ips.includes(ip)) this.suspect(st, ev.time, `authenticated from a new address ${ip}`);
    if (recentFailures > 0) st.failures.clear();
    // The first address of an account is learnt, not suspected: a fresh start knows nobody.
    if (!st.ips.includes(ip)) {
      st.ips.push(ip);
      if (st.ips.length > 16) st.ips.shift();
    }
    st.lastAuth = { ip, time: ev.time };
  }

  private suspect(st: AccountState, now: number, why: string): void {
    st.suspectUntil = now + this.cfg.compromise.tightenForMs;
    st.suspectWhy = why;
  }

  /** Why the account is suspect now, or undefined. */
  suspectWhy(account: string, now: number): string | undefined {
    const st = this.accounts.get(account);
    return st && st.suspectUntil > now ? st.suspectWhy : undefined;
  }

  private account(name: string): AccountState {
    let st = this.accounts.get(name);
    if (!st) {
      if (this.accounts.size >= MAX_ACCOUNTS) this.accounts.delete(this.accounts.keys().next().value!);
      this.accounts.set(name, (st = { ips: [], failures: new TimeRing(MAX_FAILURES), suspectUntil: 0, suspectWhy: '', lastAuth: undefined }));
    }
    return st;
  }

  onCall(ev: CallEvent): void {
    switch (ev.type) {
      case 'Newchannel':
        if (ev.uniqueId !== ev.linkedId) return; // a dialed leg, not a new call
        this.begin(ev, 'event');
        return;
      case 'Newexten':
      case 'DialBegin': {
        const p = this.pending.get(ev.uniqueId);
        if (!p) return;
        const num = ev.type === 'DialBegin' ? dialedNumber(ev.extra.DialString ?? '') : ev.exten;
        if (num !== '' && !NOT_A_NUMBER.test(num)) {
          this.pending.delete(ev.uniqueId);
          this.start({ ...p.ev, exten: num }, 'event', ev.time);
        }
        return;
      }
      case 'CoreShowChannel':
        if (this.listSeen.size === 0 && this.rebuildMark === undefined) this.rebuildMark = this.seq;
        this.listSeen.add(ev.uniqueId);
        if (ev.uniqueId !== ev.linkedId || this.calls.has(ev.uniqueId)) return;
        this.begin(ev, 'list');
        return;
      case 'Hangup': {
        this.pending.delete(ev.uniqueId);
        const call = this.calls.get(ev.uniqueId);
        if (!call) return;
        this.calls.delete(ev.uniqueId);
        this.seqOf.delete(ev.uniqueId);
        this.counters.ended++;
        this.out({ type: 'end', time: ev.time, call });
        return;
      }
    }
  }

  private begin(ev: CallEvent, source: 'event' | 'list'): void {
    const account = accountOf(ev.channel, ev.callerIdNum);
    if (account === '' || this.cfg.ignoreEndpoints.includes(account)) return;
    if (ev.exten === '' || NOT_A_NUMBER.test(ev.exten)) {
      if (source === 'event' && this.pending.size < MAX_CALLS) this.pending.set(ev.uniqueId, { ev, time: ev.time });
      return;
    }
    this.start(ev, source, ev.time);
  }

  private start(ev: CallEvent, source: 'event' | 'list', time: number): void {
    if (this.calls.has(ev.uniqueId)) return;
    if (this.calls.size >= MAX_CALLS) return; // bounded: a flood of fake channels must not eat memory
    const account = accountOf(ev.channel, ev.callerIdNum);
    const st = this.accounts.get(account);
    const auth = st?.lastAuth;
    const ip = auth && time - auth.time <= this.cfg.authCorrelationMs ? auth.ip : undefined;
    const suspect = this.suspectWhy(account, time);
    const dest = classify(ev.exten, this.cfg.dialing);
    if (dest.class === 'invalid') this.counters.invalid++;
    const call: TrackedCall = {
      uniqueId: ev.uniqueId,
      linkedId: ev.linkedId,
      channel: ev.channel,
      account,
      ...(ip !== undefined ? { ip } : {}),
      dest,
      startedAt: time,
      ...(suspect !== undefined ? { suspect } : {}),
      source,
    };
    this.calls.set(ev.uniqueId, call);
    this.seqOf.set(ev.uniqueId, ++this.seq);
    if (source === 'list') this.counters.learnt++;
    else this.counters.started++;
    this.out({ type: source === 'list' ? 'present' : 'start', time, call });
  }

  /** Call right before sending CoreShowChannels: calls that start after this survive the rebuild. */
  beginRebuild(): void {
    this.rebuildMark = this.seq;
  }

  /**
   * After a (re)connect: the `CoreShowChannel` events of a CoreShowChannels
   * action are the truth. Calls we hold that are not in the list ended while
   * we were away; calls in it we do not know were started meanwhile.
   */
  rebuildFromCoreShowChannels(frames: readonly AmiFrame[], now = Date.now()): void {
    const live = new Set<string>();
    for (const f of frames) {
      const h = new Map(f.headers);
      if (h.get('Event') !== 'CoreShowChannel') continue;
      const uniqueId = h.get('Uniqueid') ?? '';
      const channel = h.get('Channel') ?? '';
      if (!uniqueId || !channel) continue;
      live.add(uniqueId);
      if (this.calls.has(uniqueId)) continue;
      const linkedId = h.get('Linkedid') || uniqueId;
      if (linkedId !== uniqueId) continue;
      this.begin(
        { kind: 'call', type: 'CoreShowChannel', time: now, channel: channel.slice(0, 256), uniqueId: uniqueId.slice(0, 256), linkedId: linkedId.slice(0, 256), callerIdNum: (h.get('CallerIDNum') ?? '').slice(0, 256), context: (h.get('Context') ?? '').slice(0, 256), exten: (h.get('Exten') ?? '').slice(0, 256), extra: {} },
        'list',
      );
    }
    const mark = this.rebuildMark ?? this.seq;
    for (const [id, call] of [...this.calls]) {
      if (live.has(id) || this.listSeen.has(id) || (this.seqOf.get(id) ?? 0) > mark) continue;
      this.calls.delete(id);
      this.seqOf.delete(id);
      this.counters.ended++;
      this.out({ type: 'end', time: now, call });
    }
    this.listSeen = new Set();
    this.rebuildMark = undefined;
  }

  /** Forget every call (before a rebuild, or when AMI is gone for good). Accounts' auth history stays. */
  reset(now = Date.now()): void {
    this.calls.clear();
    this.seqOf.clear();
    this.pending.clear();
    this.listSeen = new Set();
    this.rebuildMark = undefined;
    this.out({ type: 'reset', time: now });
  }

  get(uniqueId: string): TrackedCall | undefined {
    return this.calls.get(uniqueId);
  }

  /** Calls in progress, oldest first. */
  list(): TrackedCall[] {
    return [...this.calls.values()];
  }

  callsOf(account: string): TrackedCall[] {
    return this.list().filter((c) => c.account === account);
  }

  byAccount(): Map<string, TrackedCall[]> {
    return group(this.calls.values(), (c) => c.account);
  }

  byIp(): Map<string, TrackedCall[]> {
    return group([...this.calls.values()].filter((c) => c.ip !== undefined), (c) => c.ip!);
  }

  get size(): number {
    return this.calls.size;
  }
}

/** `PJSIP/011882161234567@provider`, `provider/0044...`, `SIP/trunk/0044...` -> the number part, or ''. */
function dialedNumber(dialString: string): string {
  const first = dialString.split('&')[0] ?? '';
  const m = /(?:^|\/)(\+?[0-9*#]+)(?:@|$)/.exec(first);
  return m ? m[1]! : '';
}

function group<T>(items: Iterable<T>, key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const l = m.get(k);
    if (l) l.push(it);
    else m.set(k, [it]);
  }
  return m;
}
