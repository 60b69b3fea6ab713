import type { ActionKind, Decision, Evidence, Target } from '../domain/types.ts';
import { SAFE_CHANNEL, SAFE_ENDPOINT } from '../respond/asterisk-ami.ts';
import { escapeText } from '../console/escape.ts';
import { formatDuration } from '../config/duration.ts';
import type { TollFraudConfig } from './config.ts';
import type { TollAlert } from './detector.ts';
import type { CallFact, CallTracker, TrackedCall } from './tracker.ts';

export interface PlannerDeps {
  readonly tracker: CallTracker;
  /** Why an address must never be banned (Policy.protection), or null. */
  readonly protection: (ip: string) => string | null;
  readonly dryRun: boolean;
}

interface AccountBlocks {
  intlUntil: number;
  accountUntil: number;
  /** Times of block-intl decisions (repeat -> account block). */
  intlBlocks: number[];
  /** International attempts made while international dialing was blocked. */
  blockedAttempts: number[];
}

const INTL = new Set(['international', 'premium']);

/** A dialed number as it may appear in a reason: clean numbers as they are, anything else escaped. */
export function shownNumber(call: TrackedCall): string {
  return call.dest.number !== '' ? call.dest.number : `invalid "${escapeText(call.dest.why, 60)}"`;
}

/**
 * Toll alerts and call facts -> decisions: hang up the excess calls already
 * up, block international dialing, and escalate to an account block plus an
 * IP ban when the account keeps going. Emergency calls are never touched.
 */
export class ResponsePlanner {
  private readonly blocks = new Map<string, AccountBlocks>();
  private readonly bannedIps = new Map<string, number>();
  /** Calls we already asked to hang up (until their Hangup arrives). */
  private readonly hungUp = new Set<string>();
  private seq = 0;

  constructor(
    private cfg: TollFraudConfig,
    private readonly deps: PlannerDeps,
  ) {}

  update(cfg: TollFraudConfig): void {
    this.cfg = cfg;
  }

  /** Enforcement of standing blocks on each new call (the dialplan gate may be missing or bypassed). */
  onFact(f: CallFact): Decision[] {
    if (f.type === 'end') {
      this.hungUp.delete(f.call.uniqueId);
      return [];
    }
    if (f.type === 'reset') {
      this.hungUp.clear();
      return [];
    }
    const call = f.call;
    if (call.dest.class === 'emergency') return [];
    const b = this.blocks.get(call.account);
    if (!b) return [];
    if (b.accountUntil > f.time) return this.hangups([call], f.time, 'account-blocked', `account ${call.account} is blocked`, []);
    if (b.intlUntil > f.time && INTL.has(call.dest.class)) {
      const out = this.hangups([call], f.time, 'intl-blocked', `international dialing of ${call.account} is blocked`, []);
      if (f.type === 'start') {
        b.blockedAttempts = b.blockedAttempts.filter((t) => t > f.time - this.cfg.response.repeatWindowMs);
        b.blockedAttempts.push(f.time);
        if (b.blockedAttempts.length >= this.cfg.response.escalateAfter) {
          const n = b.blockedAttempts.length;
          b.blockedAttempts = [];
          out.push(...this.blockAccount(call, f.time, 'toll-escalation', `${n} international calls attempted while international dialing was blocked`, evidenceOf([call], n, f.time, f.time)));
        }
      }
      return out;
    }
    return [];
  }

  onAlert(a: TollAlert): Decision[] {
    const ev = evidenceOf(a.excess, a.count, a.first, a.time);
    const account = a.call.account;
    const what = `${a.reason}; latest to ${shownNumber(a.call)} (${a.call.dest.class}: ${a.call.dest.why})`;
    if (a.action === 'hangup' || a.scope === 'global') return this.hangups(a.excess, a.time, a.rule, what, [], ev);
    const b = this.state(account);
    if (a.action === 'block-account') return this.blockAccount(a.call, a.time, a.rule, what, ev, a.excess);
    // block-intl: a second one within the repeat window is the pattern repeating.
    b.intlBlocks = b.intlBlocks.filter((t) => t > a.time - this.cfg.response.repeatWindowMs);
    if (b.intlBlocks.length > 0 && b.intlUntil <= a.time) return this.blockAccount(a.call, a.time, a.rule, `${what}; international dialing was blocked before`, ev, a.excess);
    const out: Decision[] = [];
    // The block first: the dialplan gate then refuses new calls while the hangups go out.
    if (b.intlUntil <= a.time && b.accountUntil <= a.time) {
      const d = this.decision('block-intl', { account }, a.rule, what, a.time, this.cfg.response.blockIntlMs, ev);
      if (d) {
        b.intlUntil = d.expiresAt;
        b.intlBlocks.push(a.time);
        out.push(d);
      }
    }
    const intlUp = this.deps.tracker.callsOf(account).filter((c) => INTL.has(c.dest.class));
    return this.hangups([...a.excess, ...intlUp.reverse()], a.time, a.rule, what, out, ev);
  }

  private blockAccount(call: TrackedCall, time: number, rule: string, why: string, ev: Evidence, excess: readonly TrackedCall[] = []): Decision[] {
    const b = this.state(call.account);
    const out: Decision[] = [];
    const hangAll = (): Decision[] => this.hangups([...excess, ...this.deps.tracker.callsOf(call.account).reverse()], time, rule, why, out, ev);
    if (b.accountUntil > time) return hangAll();
    const d = this.decision('block-account', { account: call.account }, rule, why, time, this.cfg.response.blockAccountMs, ev);
    if (d) {
      b.accountUntil = d.expiresAt;
      out.push(d);
    }
    const ip = call.ip;
    if (this.cfg.response.banIp && ip !== undefined && (this.bannedIps.get(ip) ?? 0) <= time) {
      const protectedWhy = this.deps.protection(ip);
      const ban = protectedWhy
        ? this.decision('watch', { ip }, rule, `${why}; source ${ip} not banned: ${protectedWhy}`, time, 0, ev)
        : this.decision('ban-ip', { ip }, rule, `${why}; source of account ${call.account}`, time, this.cfg.response.banIpMs, ev);
      if (ban) {
        if (ban.action === 'ban-ip') this.bannedIps.set(ip, ban.expiresAt);
        out.push(ban);
      }
    }
    return hangAll();
  }

  private hangups(calls: readonly TrackedCall[], time: number, rule: string, why: string, out: Decision[], ev?: Evidence): Decision[] {
    for (const c of calls) {
      if (c.dest.class === 'emergency' || this.hungUp.has(c.uniqueId)) continue;
      // Only calls still up: a Hangup already seen needs no action.
      if (this.deps.tracker.get(c.uniqueId) === undefined) continue;
      if (!SAFE_CHANNEL.test(c.channel)) continue;
      this.hungUp.add(c.uniqueId);
      const d = this.decision('hangup', { channel: c.channel, uniqueId: c.uniqueId }, rule, `${why}; hang up ${c.channel} to ${shownNumber(c)} (cause ${this.cfg.response.hangupCause})`, time, 0, ev ?? evidenceOf([c], 1, c.startedAt, time));
      if (d) out.push(d);
    }
    return out;
  }

  private decision(action: ActionKind, target: Target, rule: string, reason: string, time: number, durationMs: number, evidence: Evidence): Decision | null {
    if (target.account !== undefined && !SAFE_ENDPOINT.test(target.account) && action !== 'hangup') return null;
    const full = durationMs > 0 ? `${reason}; ${action === 'ban-ip' ? 'banned' : 'blocked'} for ${formatDuration(durationMs)}` : reason;
    return {
      id: `tf${time.toString(36)}-${(++this.seq).toString(36)}`,
      action,
      target,
      rule,
      reason: full,
      time,
      durationMs,
      expiresAt: time + (durationMs || 60_000),
      offence: 0,
      allPorts: false,
      evidence,
      dryRun: this.deps.dryRun,
    };
  }

  private state(account: string): AccountBlocks {
    let b = this.blocks.get(account);
    if (!b) {
      if (this.blocks.size > 10_000) this.prune();
      this.blocks.set(account, (b = { intlUntil: 0, accountUntil: 0, intlBlocks: [], blockedAttempts: [] }));
    }
    return b;
  }

  private prune(): void {
    const now = Math.max(0, ...[...this.blocks.values()].map((b) => Math.max(b.intlUntil, b.accountUntil)));
    for (const [k, b] of this.blocks) if (b.intlUntil < now - this.cfg.response.repeatWindowMs && b.accountUntil < now) this.blocks.delete(k);
  }

  /** Blocks in force, for the console. */
  activeBlocks(now: number): Array<{ account: string; intlUntil: number; accountUntil: number }> {
    return [...this.blocks].filter(([, b]) => b.intlUntil > now || b.accountUntil > now).map(([account, b]) => ({ account, intlUntil: b.intlUntil, accountUntil: b.accountUntil }));
  }
}

function evidenceOf(calls: readonly TrackedCall[], count: number, first: number, last: number): Evidence {
  const accounts: string[] = [];
  const ips: string[] = [];
  for (const c of calls) {
    if (accounts.length < 5 && !accounts.includes(c.account)) accounts.push(c.account);
    if (c.ip !== undefined && ips.length < 5 && !ips.includes(c.ip)) ips.push(c.ip);
  }
  return { attempts: count, events: count, first: new Date(first).toISOString(), last: new Date(last).toISOString(), sampleAccounts: accounts, sampleIps: ips, service: 'PJSIP' };
}
