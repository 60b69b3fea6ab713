import { Observable, asyncScheduler, interval, type SchedulerLike } from 'rxjs';
import { FAILURE_TYPES } from '../domain/types.ts';
import type { Alert, SecurityEvent } from '../domain/types.ts';
import type { DetectionRule } from './rule.ts';
import { groupId, keyOfRule, type KeyOf } from './group-key.ts';
import { KeyTable } from './key-table.ts';
import { RuleColumns, columnsOf } from './rule-columns.ts';
import { ATTEMPTS, EVENTS, FIRST, INT_CELLS, LAST, QUIET_UNTIL, TIME_CELLS } from './slot-record.ts';
import { countThreshold } from './kinds/threshold.ts';
import { countDistinct } from './kinds/distinct.ts';
import { isoTime } from '../domain/iso-time.ts';
import { BannedKeys, type Bans } from './banned-keys.ts';

export type Detector = (events$: Observable<SecurityEvent>) => Observable<Alert>;

/** Default bound on the keys one grouping tracks (see DetectorOptions.maxKeys). */
export const DEFAULT_MAX_KEYS = 100_000;

/** A kind folds one event into a key's state and returns the count to compare with the threshold. */
export type Kind = (rule: DetectionRule, c: RuleColumns, slot: number, ev: SecurityEvent) => number;

const KINDS: Record<DetectionRule['kind'], Kind> = {
  threshold: countThreshold,
  distinct: countDistinct,
};

export interface DetectorOptions {
  readonly scheduler?: SchedulerLike;
  /** The key table to use (tests; the registry passes tables with EngineOptions). */
  readonly table?: KeyTable;
  /** How often idle keys are expired when the stream is quiet. */
  readonly sweepMs?: number;
  /**
   * Most keys one grouping (so one rule) tracks. Past it the least recently
   * active keys are forgotten: memory stays bounded under millions of spoofed
   * sources, and a real attacker, whose key is refreshed on every attempt,
   * stays tracked.
   */
  readonly maxKeys?: number;
  /** Called when handling one event throws: the detector keeps going. */
  readonly onError?: (err: unknown, rule: string) => void;
}

export function matcher(rule: DetectionRule): (ev: SecurityEvent) => boolean {
  const m = rule.match;
  const types = m.types ? new Set<string>(m.types) : null;
  const services = m.services ? new Set(m.services) : null;
  const notServices = m.notServices ? new Set(m.notServices) : null;
  const failures = m.failures === true;
  return (ev) =>
    (types === null || types.has(ev.type)) &&
    (!failures || FAILURE_TYPES.has(ev.type)) &&
    (services === null || services.has(ev.service)) &&
    (notServices === null || !notServices.has(ev.service));
}

/**
 * One rule's windows: folds matching events into its columns and says when
 * the threshold is crossed. Windows run on event time, so a replay gives the
 * same alerts as the live run did.
 */
class RuleRunner {
  readonly matches: (ev: SecurityEvent) => boolean;
  private readonly kind: Kind;
  private readonly trackIps: boolean;
  private readonly windowMs: number;
  /** Bans its key (a source or a network): passes over keys banned already (see BannedKeys). */
  readonly bansKey: boolean;
  readonly allPorts: boolean;

  constructor(
    readonly rule: DetectionRule,
    readonly cols: RuleColumns,
    readonly group: Group,
  ) {
    this.kind = KINDS[rule.kind];
    this.matches = matcher(rule);
    this.trackIps = rule.groupBy !== 'ip';
    this.windowMs = rule.windowMs;
    this.bansKey = rule.action === 'ban-ip' && (rule.groupBy === 'ip' || rule.groupBy === 'subnet');
    this.allPorts = rule.allPorts === true;
  }

  /** An event the rule matches, for the key in `slot`; returns the alert when it fires. */
  onEvent(slot: number, ev: SecurityEvent): Alert | undefined {
    const rule = this.rule;
    const c = this.cols;
    const now = ev.time;
    if (slot >= c.capacity) c.reach(slot);
    // The records stay where they are until the next reach (start and the kinds do not resize).
    const ints = c.ints;
    const times = c.times;
    const r = slot * INT_CELLS;
    const t = slot * TIME_CELLS;
    if (ints[r + EVENTS] === 0 || times[t + LAST]! < now - this.windowMs) c.start(slot, now);
    ints[r + EVENTS]!++;
    if (ev.attempt) ints[r + ATTEMPTS]!++;
    times[t + LAST] = now;
    c.accounts.add(slot, ev.account);
    if (this.trackIps) c.ips.add(slot, ev.remote.ip);
    // Already fired for this key: the decision is made, counting again would only cost.
    if (now < times[t + QUIET_UNTIL]!) return undefined;
    const count = this.kind(rule, c, slot, ev);
    if (count < rule.threshold) return undefined;
    const alert = alertOf(rule, this.group.keyText(ev), c, slot, count, ev);
    // Fired: start over, and stay quiet for one window (the policy owns the ban length).
    times[t + QUIET_UNTIL] = now + rule.windowMs;
    c.forgetCounted(slot);
    return alert;
  }

  /** Live state for the slot at `now`? A rule's expired state is dropped here. */
  keep(slot: number, now: number): boolean {
    const c = this.cols;
    if (!c.has(slot)) return false;
    if (c.live(slot, now, this.windowMs)) return true;
    c.clear(slot);
    return false;
  }
}

/** Scratch for a 128-bit key: the engine is synchronous and never re-entered. */
const WIDE = new Int32Array(4);

/** The rules an event type routes to: for its first service inline, for others by name. */
interface Route {
  readonly service: string;
  readonly rules: RuleRunner[];
  others: Map<string, RuleRunner[]> | undefined;
}

/** The rules that share one key table (same grouping), and its sweep. */
class Group {
  readonly runners: RuleRunner[] = [];
  private lastSweep = 0;
  sweepMs = Infinity;
  // The slot of the event being handled: its rules look it up once.
  seq = 0;
  slot = -1;
  error: unknown = undefined;
  /** Keys with a ban in force, when the engine is told of bans and a rule here bans its key. */
  banned: BannedKeys | undefined = undefined;

  constructor(
    readonly table: KeyTable,
    private readonly keyOf: KeyOf,
    private readonly maxKeys: number,
  ) {
    table.limit = maxKeys;
  }

  /**
   * Finds (or makes) the event's key: sets `slot`. At the cap a
   * tenth of the keys are evicted first (KeyTable.evict).
   */
  locate(ev: SecurityEvent): void {
    const now = ev.time;
    if (now - this.lastSweep > this.sweepMs) this.sweep(now);
    const table = this.table;
    const num = this.keyOf.num(ev);
    // IPv4 by an integer, IPv6 by its 128 bits: no text kept (keyText makes it from the event when
    // an alert needs it).
    const wide = num < 0 && this.keyOf.wide(ev, WIDE);
    const text = num >= 0 || wide ? undefined : this.keyOf.key(ev);
    let slot = wide ? table.getWide(WIDE) : text === undefined ? table.getNum(num) : (table.get(text) ?? -1);
    if (slot < 0) {
      if (table.size >= this.maxKeys) table.evict();
      slot = wide ? table.insertWide(WIDE) : text === undefined ? table.insertNum(num) : table.insert(text);
    } else {
      table.touch(slot);
    }
    this.slot = slot;
  }

  /**
   * The key of the event being handled as text: kept in the table (read only
   * for an alert: one cache miss less an event under a flood), or made from
   * the event (integer and 128-bit keys keep none; a slot released meanwhile,
   * none either).
   */
  keyText(ev: SecurityEvent): string {
    return this.table.key(this.slot) || this.keyOf.key(ev);
  }

  sweep(now: number): void {
    this.sweepNow = now;
    this.table.sweep(this.dead);
    this.lastSweep = now;
  }

  // One closure for every sweep: a new one per sweep was a new call target for the table's
  // loop each time, and its optimised code was thrown away and made again, sweep after sweep.
  private sweepNow = 0;
  private readonly dead = (slot: number): boolean => {
    const now = this.sweepNow;
    const runners = this.runners;
    // A banned key stays while its ban lasts: forgotten, its next event would be counted again.
    let live = this.banned !== undefined && this.banned.covers(slot, now, false);
    for (let i = 0; i < runners.length; i++) if (runners[i]!.keep(slot, now)) live = true;
    return !live;
  };
}

export interface EngineOptions extends Omit<DetectorOptions, 'table'> {
  /** The key table of a rule's grouping, kept across reloads (see detect/registry.ts). */
  readonly tableFor?: (rule: DetectionRule) => KeyTable;
  /** A rule's columns in its table, kept across reloads. */
  readonly columnsFor?: (rule: DetectionRule, table: KeyTable) => RuleColumns;
  /** The policy's bans: rules that ban their key skip keys banned already. */
  readonly bans?: Bans;
}

/**
 * The pure detector `(events$) => alerts$` of a set of rules: one
 * subscription for all of them. Rules with the same grouping share a key
 * table, so an event costs one key lookup per grouping, and each event
 * type/service pair is matched against the rules once, then looked up. Only
 * the idle sweep uses the scheduler, to free keys while nothing arrives.
 */
export function createRuleEngine(rules: readonly DetectionRule[], opts: EngineOptions = {}): Detector {
  const scheduler = opts.scheduler ?? asyncScheduler;
  const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  return (events$) =>
    new Observable<Alert>((sub) => {
      const groups = new Map<KeyTable, Group>();
      const own = new Map<string, KeyTable>();
      const runners: RuleRunner[] = [];
      for (const r of rules) {
        const table = opts.tableFor?.(r) ?? own.get(groupId(r)) ?? own.set(groupId(r), new KeyTable()).get(groupId(r))!;
        let group = groups.get(table);
        if (group === undefined) groups.set(table, (group = new Group(table, keyOfRule(r), maxKeys)));
        let cols = opts.columnsFor?.(r, table);
        if (cols === undefined) table.attach((cols = columnsOf(r)));
        const runner = new RuleRunner(r, cols, group);
        group.runners.push(runner);
        group.sweepMs = Math.min(group.sweepMs, opts.sweepMs ?? Math.max(1000, Math.min(r.windowMs, 30_000)));
        runners.push(runner);
        if (runner.bansKey && opts.bans !== undefined && group.banned === undefined) table.attach((group.banned = new BannedKeys()));
      }
      const bans = opts.bans;
      const banGroups = [...groups.values()].filter((g) => g.banned !== undefined);
      let revision = bans?.revision;
      // type -> the rules that can match it for its service, in config order (attempt flags do
      // not matter to matchers): one lookup per event, the service nearly always the last one seen.
      const routes = new Map<string, Route>();
      let routeCount = 0;
      const route = (ev: SecurityEvent): RuleRunner[] => {
        const r = routes.get(ev.type);
        if (r !== undefined && r.service === ev.service) return r.rules;
        const found = r?.others?.get(ev.service) ?? runners.filter((x) => x.matches(ev));
        // Service names come from Asterisk's short list; bound the table anyway.
        if (r === undefined) {
          if (routeCount++ < 1024) routes.set(ev.type, { service: ev.service, rules: found, others: undefined });
        } else if (!r.others?.has(ev.service) && routeCount++ < 1024) (r.others ??= new Map()).set(ev.service, found);
        return found;
      };
      let lastTime = 0;
      let seq = 0;
      const events = events$.subscribe({
        next(ev) {
          if (ev.time > lastTime) lastTime = ev.time;
          let rs: RuleRunner[];
          try {
            rs = route(ev);
          } catch (err) {
            opts.onError?.(err, '*');
            return;
          }
          seq++;
          if (bans !== undefined && bans.revision !== revision) {
            // A ban may have ended early: ask again after the next alert.
            revision = bans.revision;
            for (const g of banGroups) g.banned!.forgetAll();
          }
          let passed = false;
          let learnt = false;
          for (let i = 0; i < rs.length; i++) {
            const r = rs[i]!;
            const g = r.group;
            try {
              if (g.seq !== seq) {
                // First rule of this grouping for the event: one key lookup serves them all.
                g.seq = seq;
                g.error = undefined;
                g.slot = -1;
                try {
                  g.locate(ev);
                } catch (err) {
                  g.error = err;
                }
              }
              if (g.slot < 0) throw g.error;
              const banned = g.banned;
              if (r.bansKey && banned !== undefined && banned.covers(g.slot, ev.time, r.allPorts)) {
                passed = true;
                continue;
              }
              const alert = r.onEvent(g.slot, ev);
              if (alert === undefined) continue;
              sub.next(alert);
              // The policy has decided (synchronously): a ban in force answers this key's repeats.
              if (r.bansKey && banned !== undefined) {
                const held = bans!.standingBan(alert);
                if (held !== undefined && held.expiresAt > ev.time) {
                  banned.set(g.slot, held.expiresAt, held.allPorts);
                  learnt = true;
                }
              }
            } catch (err) {
              // One bad event costs its own alert, never the detector.
              opts.onError?.(err, r.rule.id);
            }
          }
          // The event that got its source banned is not one from a banned source.
          if (passed && !learnt) bans!.passed();
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
      // Idle sweep without a clock read per event: while no event arrives, event time
      // is taken to advance with the scheduler, one sweep period per tick.
      const tickMs = Math.min(...[...groups.values()].map((g) => g.sweepMs), 30_000);
      let seenAtTick = 0;
      let quietMs = 0;
      const idle = interval(tickMs, scheduler).subscribe(() => {
        if (!lastTime) return;
        if (lastTime === seenAtTick) quietMs += tickMs;
        else {
          seenAtTick = lastTime;
          quietMs = 0;
        }
        for (const g of groups.values()) g.sweep(lastTime + quietMs);
      });
      return () => {
        events.unsubscribe();
        idle.unsubscribe();
        // Columns made here (no registry) leave their tables with the subscription.
        if (opts.columnsFor === undefined) for (const g of groups.values()) for (const r of g.runners) g.table.detach(r.cols);
        for (const g of banGroups) g.table.detach(g.banned!);
      };
    });
}

/** The detector of one rule (the engine with a single rule). */
export function createDetector(rule: DetectionRule, opts: DetectorOptions = {}): Detector {
  const { table, ...rest } = opts;
  return createRuleEngine([rule], { ...rest, ...(table ? { tableFor: () => table } : {}) });
}

function alertOf(rule: DetectionRule, key: string, c: RuleColumns, slot: number, count: number, ev: SecurityEvent): Alert {
  const r = slot * INT_CELLS;
  const t = slot * TIME_CELLS;
  const what = rule.kind === 'distinct' ? `${count} distinct ${rule.distinct === 'ip' ? 'source IPs' : 'accounts'}` : `${count} ${rule.count === 'events' ? 'requests' : 'failed attempts'}`;
  return {
    rule: rule.id,
    kind: rule.kind,
    key,
    groupBy: rule.groupBy,
    action: rule.action,
    time: ev.time,
    reason: `${what} from ${rule.groupBy} ${key} within ${Math.round(rule.windowMs / 1000)}s (threshold ${rule.threshold})`,
    evidence: {
      attempts: c.ints[r + ATTEMPTS]!,
      events: c.ints[r + EVENTS]!,
      first: isoTime(c.times[t + FIRST]!),
      last: isoTime(c.times[t + LAST]!),
      sampleAccounts: c.accounts.values(slot),
      sampleIps: rule.groupBy === 'ip' ? [key] : c.ips.values(slot),
      service: ev.service,
    },
    ...(rule.allPorts ? { allPorts: true } : {}),
  };
}
