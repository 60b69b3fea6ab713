import type { Alert, Decision, Target } from '../domain/types.ts';
import { CidrSet, parseCidr } from './cidr.ts';
import { ActiveDecisions, ownId, type HeldDecision, type Standing } from './active.ts';
import { OffenceHistory } from './history.ts';
import { formatDuration } from '../config/duration.ts';
import { ipv4ToInt, isPlainIpv4 } from '../domain/ipv4.ts';

export type { HeldDecision } from './active.ts';

export interface PolicyConfig {
  readonly whitelist: readonly string[];
  /** Ban durations by offence: first ban, second, ... the last repeats. */
  readonly durationsMs: readonly number[];
  readonly offenceWindowMs: number;
  readonly accountBlockMs: number;
  readonly dryRun: boolean;
}

export interface PolicyOutcome {
  readonly decisions: Decision[];
  /** Why an alert produced no enforcing decision (already banned, whitelisted...). */
  readonly suppressed?: string;
}

/** Account names we are willing to hand to Asterisk (AstDB keys, endpoint names). */
const SAFE_ACCOUNT = /^[A-Za-z0-9_.@+-]{1,64}$/;

/**
 * Alerts -> decisions. Owns what detectors must not: who is never banned,
 * how long a ban lasts (escalating for repeat offenders), and not banning a
 * target twice. State here survives a config reload (update()).
 */
export class Policy {
  private whitelist: CidrSet;
  private trusted = new CidrSet();
  private trustedWhy = new Map<string, string>();
  /** target key -> decision in force (without its reason and evidence: the journal has those) */
  private readonly active = new ActiveDecisions();
  /** target key -> times of earlier decisions (escalation) */
  private readonly history = new OffenceHistory();
  private seq = 0;
  /**
   * Bumped whenever a decision may end before its expiry in event time (an unban,
   * an adopted or replaced decision, a config update, an expiry by the clock): the
   * detectors then forget which keys they took as banned (see standingBan).
   */
  revision = 0;

  constructor(
    private cfg: PolicyConfig,
    private readonly priorOffences: (targetKey: string, since: number) => number = () => 0,
  ) {
    this.whitelist = new CidrSet(cfg.whitelist);
  }

  update(cfg: PolicyConfig): void {
    this.revision++;
    this.cfg = cfg;
    this.whitelist = new CidrSet(cfg.whitelist);
  }

  /** Addresses never to ban beside the whitelist: trunks, the AMI host. */
  setTrusted(entries: ReadonlyArray<{ cidr: string; why: string }>): void {
    const own = [...this.trustedWhy].filter(([, why]) => why === 'the PBX itself').map(([ip]) => ip);
    this.trusted = new CidrSet(own);
    this.trustedWhy = new Map(own.map((ip) => [ip, 'the PBX itself']));
    for (const e of entries) if (this.trusted.add(e.cidr)) this.trustedWhy.set(e.cidr, e.why);
  }

  /** The PBX's own addresses, learnt from events' LocalAddress: no range ban may cover them. */
  addOwnAddress(ip: string): void {
    if (!this.trusted.has(ip) && this.trusted.add(ip)) this.trustedWhy.set(ip, 'the PBX itself');
  }

  /** Why an address must never be banned, or null. */
  protection(ipOrCidr: string): string | null {
    // A plain dotted quad (every IPv4 source) without parsing it as a CIDR; the
    // trusted case, which names the entry, takes the general path.
    if (isPlainIpv4(ipOrCidr)) {
      const n = ipv4ToInt(ipOrCidr);
      if (n >>> 24 === 127) return 'loopback';
      if (this.whitelist.hasIpv4(ipOrCidr, n)) return 'whitelisted';
      if (!this.trusted.hasIpv4(ipOrCidr, n)) return null;
    }
    const p = parseCidr(ipOrCidr);
    if (typeof p === 'string') return 'not a valid address';
    if (p.family === 4 && p.network.startsWith('127.')) return 'loopback';
    if (p.family === 6 && p.network === '::1') return 'loopback';
    if (p.prefix === (p.family === 4 ? 32 : 128) ? this.whitelist.has(p.network) : this.whitelist.overlaps(p.text)) return 'whitelisted';
    if (p.prefix === (p.family === 4 ? 32 : 128) ? this.trusted.has(p.network) : this.trusted.overlaps(p.text)) {
      for (const [cidr, why] of this.trustedWhy) if (new CidrSet([cidr]).has(p.network) || new CidrSet([p.text]).has(cidr.split('/')[0]!)) return `trusted: ${why}`;
      return 'trusted';
    }
    return null;
  }

  /**
   * The ban-ip in force that makes decide() answer this alert, and its repeats
   * until it ends, with "already handled" (the same test as decideOne's first);
   * a view, read at once.
   */
  standingBan(alert: Alert): Standing | undefined {
    if (alert.action !== 'ban-ip' || (alert.groupBy !== 'ip' && alert.groupBy !== 'subnet')) return undefined;
    const held = this.active.standing(this.ipKey(alert.key));
    return held !== undefined && answers(held, alert) ? held : undefined;
  }

  /**
   * targetKey of an address: the engine asks standingBan for the address decide()
   * has just keyed, so the last key is kept (the same string object: no text to
   * build again, and its hash is already known to the tables).
   */
  private ipKey(ip: string): string {
    if (ip !== this.lastIp) {
      this.lastIp = ip;
      this.lastIpKey = targetKey({ ip });
    }
    return this.lastIpKey;
  }
  private lastIp = '';
  private lastIpKey = targetKey({ ip: '' });

  decide(alert: Alert): PolicyOutcome {
    const targets = this.targetsOf(alert);
    if (targets.length === 0) return { decisions: [], suppressed: 'no target' };
    const decisions: Decision[] = [];
    let suppressed: string | undefined;
    for (const target of targets) {
      const outcome = this.decideOne(alert, target);
      if (outcome.decision) decisions.push(outcome.decision);
      else suppressed = outcome.why;
    }
    return suppressed === undefined ? { decisions } : { decisions, suppressed };
  }

  private targetsOf(alert: Alert): Target[] {
    if (alert.action === 'block-account' || alert.action === 'block-intl') {
      if (alert.groupBy === 'account') return [{ account: alert.key }];
      return alert.evidence.sampleAccounts.slice(0, 1).map((account) => ({ account }));
    }
    if (alert.action === 'hangup') return (alert.channels ?? []).map((channel) => ({ channel }));
    if (alert.groupBy === 'ip' || alert.groupBy === 'subnet') return [{ ip: alert.key }];
    return alert.evidence.sampleIps.map((ip) => ({ ip }));
  }

  private decideOne(alert: Alert, target: Target): { decision?: Decision; why?: string } {
    const key = target.ip !== undefined ? this.ipKey(target.ip) : targetKey(target);
    // Already decided the same way and in force: whatever the checks below say, the answer
    // is "already handled" (they can only turn the action into a watch), so skip them.
    const held = this.active.standing(key);
    if (held !== undefined && answers(held, alert)) {
      return { why: `${key} already ${held.action === 'watch' ? 'watched' : 'handled'} (${held.rule})` };
    }
    let action = alert.action;
    let reason = alert.reason;
    if (target.ip !== undefined) {
      const why = this.protection(target.ip);
      if (why) {
        action = 'watch';
        reason = `${alert.reason}; not banned: ${target.ip} is ${why}`;
      }
    }
    if (target.account !== undefined && !SAFE_ACCOUNT.test(target.account)) {
      action = 'watch';
      reason = `${alert.reason}; not blocked: the account name is not a plain endpoint name`;
    }
    // `held` is still this key's view: nothing above asked the table for another.
    if (held && held.expiresAt > alert.time && (held.action === action || action === 'watch')) {
      if (!(alert.allPorts && !held.allPorts && action === 'ban-ip')) return { why: `${key} already ${held.action === 'watch' ? 'watched' : 'handled'} (${held.rule})` };
    }
    let durationMs = 0;
    let offence = 0;
    if (action === 'ban-ip' || action === 'block-account' || action === 'block-intl') {
      offence = this.offences(key, alert.time);
      const steps = this.cfg.durationsMs;
      const step = steps[Math.min(offence, steps.length - 1)] ?? 600_000;
      durationMs = action === 'ban-ip' ? step : Math.round(this.cfg.accountBlockMs * (step / (steps[0] || step)));
      // join, not +: one flat string, where + leaves a tree of pieces (~3x the bytes) in the journal.
      reason = [reason, '; ', offence > 0 ? `offence ${offence + 1}, ` : '', action === 'ban-ip' ? 'banned' : 'blocked', ' for ', formatDuration(durationMs)].join('');
    } else if (action === 'watch') {
      durationMs = 0;
    }
    const decision: Decision = {
      id: ownId(alert.time, ++this.seq),
      action,
      target,
      rule: alert.rule,
      reason,
      time: alert.time,
      durationMs,
      // A watch stays "active" for the rule window so a flood of the same alert is not logged a thousand times.
      expiresAt: alert.time + (durationMs || 60_000),
      offence,
      allPorts: alert.allPorts === true,
      evidence: alert.evidence,
      dryRun: this.cfg.dryRun,
    };
    // Replacing a decision in force may end it sooner than the one it replaces.
    if (held !== undefined) this.revision++;
    // The id was made from this sequence number: the table need not read it back from the text.
    this.active.set(key, decision, this.seq <= 0x7fffffff ? this.seq : undefined);
    if (action !== 'watch') this.remember(key, alert.time);
    return { decision };
  }

  private offences(key: string, now: number): number {
    const since = now - this.cfg.offenceWindowMs;
    return Math.max(this.history.count(key, since), this.priorOffences(key, since));
  }

  private remember(key: string, now: number): void {
    this.history.add(key, now, now - this.cfg.offenceWindowMs);
  }

  /** Records a decision made elsewhere (manual ban, journal on start) as active. */
  adopt(d: HeldDecision): void {
    this.revision++;
    this.active.set(targetKey(d.target), d);
  }

  release(target: Target): HeldDecision | undefined {
    this.revision++;
    return this.active.delete(targetKey(target));
  }

  /** Drops expired decisions and returns them (responders revoke what the kernel does not expire itself). */
  expire(now: number): HeldDecision[] {
    const out = this.active.expire(now);
    // By the clock, not by event time: a decision may go here before its events' time says so.
    if (out.length > 0) this.revision++;
    this.history.prune(now - this.cfg.offenceWindowMs);
    return out;
  }

  /** Bans, blocks and hangups in force (watches left out). */
  activeDecisions(): HeldDecision[] {
    return this.active.values().filter((d) => d.action !== 'watch');
  }

  /** The ban or block in force against a target, if any (watches left out). */
  activeFor(target: Target): HeldDecision | undefined {
    const d = this.active.get(targetKey(target));
    return d === undefined || d.action === 'watch' ? undefined : d;
  }
}

/** Is the decision held for the alert's target in force, the same action, and (for an all-ports ban) as wide? Then it answers the alert. */
function answers(held: Standing, alert: Alert): boolean {
  return held.expiresAt > alert.time && held.action === alert.action && !(alert.allPorts && !held.allPorts && alert.action === 'ban-ip');
}

/** One flat string (join, not +): it is held as a map key for as long as the target is. */
export function targetKey(t: Target): string {
  if (t.ip !== undefined) return ['ip:', t.ip].join('');
  if (t.account !== undefined) return ['account:', t.account].join('');
  return ['channel:', t.channel ?? ''].join('');
}
