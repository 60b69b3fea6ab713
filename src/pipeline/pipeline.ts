import { BehaviorSubject, Subject, share, switchMap, type Observable, type SchedulerLike } from 'rxjs';
import { Hub } from '../rx/hub.ts';
import type { Alert, AmiFrame, CallEvent, Decision, DomainEvent, SecurityEvent } from '../domain/types.ts';
import type { Config } from '../config/config.ts';
import { Normalizer, type NormalizeIssue } from '../normalize/normalizer.ts';
import { DetectorRegistry } from '../detect/registry.ts';
import { Policy, type PolicyConfig } from '../policy/policy.ts';
import type { Bans } from '../detect/banned-keys.ts';

export interface PipelineOptions {
  readonly scheduler?: SchedulerLike;
  readonly onIssue?: (issue: NormalizeIssue) => void;
  readonly onDetectorError?: (err: unknown, rule: string) => void;
  /** Escalation history from the journal. */
  readonly priorOffences?: (targetKey: string, since: number) => number;
  readonly dryRun?: boolean;
}

export interface Suppressed {
  readonly alert: Alert;
  readonly why: string;
}

export function policyConfig(cfg: Config, dryRun: boolean): PolicyConfig {
  return {
    whitelist: cfg.whitelist,
    durationsMs: cfg.bans.durationsMs,
    offenceWindowMs: cfg.bans.offenceWindowMs,
    accountBlockMs: cfg.bans.accountBlockMs,
    dryRun,
  };
}

/**
 * The data path from frames to decisions, wired once:
 * frames -> normalize -> detectors (rules from config) -> policy -> decisions.
 * Frames go in with push(); everything downstream is synchronous, so a replay
 * is deterministic and the live path adds no scheduling delay.
 */
export class Pipeline {
  readonly normalizer: Normalizer;
  readonly registry = new DetectorRegistry();
  readonly policy: Policy;
  private readonly config$: BehaviorSubject<Config>;
  readonly events$: Observable<DomainEvent>;
  readonly security$: Observable<SecurityEvent>;
  readonly calls$: Observable<CallEvent>;
  readonly alerts$: Observable<Alert>;
  readonly decisions$ = new Subject<Decision>();
  readonly suppressed$ = new Subject<Suppressed>();
  // One hub per stream, fed directly: no filter per subscriber and event.
  private readonly events = new Hub<DomainEvent>();
  private readonly security = new Hub<SecurityEvent>();
  private readonly calls = new Hub<CallEvent>();
  private lastLocal = '';
  /**
   * Security events from a source (or network) with a ban in force, which the
   * ban rules passed over. In enforce mode a count that keeps growing means
   * packets get past the firewall.
   */
  fromBanned = 0;
  private readonly bans: Bans;
  private readonly sub;

  constructor(config: Config, private readonly opts: PipelineOptions = {}) {
    this.config$ = new BehaviorSubject(config);
    this.normalizer = new Normalizer(opts.onIssue);
    this.policy = new Policy(policyConfig(config, opts.dryRun ?? config.mode === 'dry-run'), opts.priorOffences);
    const policy = this.policy;
    this.bans = {
      get revision() {
        return policy.revision;
      },
      standingBan: (alert) => policy.standingBan(alert),
      passed: () => {
        this.fromBanned++;
      },
    };
    this.events$ = this.events;
    this.security$ = this.security;
    this.calls$ = this.calls;
    this.alerts$ = this.config$.pipe(
      switchMap((cfg) =>
        this.registry.detect(cfg.rules, this.security$, {
          ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
          ...(opts.onDetectorError ? { onError: opts.onDetectorError } : {}),
          maxKeys: cfg.maxKeysPerRule,
          bans: this.bans,
        }),
      ),
      share(),
    );
    this.sub = this.alerts$.subscribe((alert) => this.decide(alert));
  }

  /** Feeds one frame in; never throws on frame content. */
  push(frame: AmiFrame): void {
    const ev = this.normalizer.normalize(frame);
    if (ev === null) return;
    if (ev.kind === 'security' && ev.local !== undefined && ev.local.ip !== this.lastLocal) {
      this.lastLocal = ev.local.ip;
      this.policy.addOwnAddress(ev.local.ip);
    }
    this.deliver(ev);
  }

  /** Injects an already-normalized event (call tracking, tests). */
  pushEvent(ev: DomainEvent): void {
    this.deliver(ev);
  }

  /** To the stream of its kind first (detectors, the toll-fraud tracker), then to every-event watchers. */
  private deliver(ev: DomainEvent): void {
    if (ev.kind === 'security') this.security.next(ev);
    else this.calls.next(ev);
    this.events.next(ev);
  }

  /** Applies a new config; detector windows, bans and escalation history are kept. */
  reload(config: Config): void {
    this.policy.update(policyConfig(config, this.opts.dryRun ?? config.mode === 'dry-run'));
    this.config$.next(config);
  }

  get config(): Config {
    return this.config$.value;
  }

  /** Emits a decision made outside detection (manual ban, toll-fraud guard). */
  emit(decision: Decision): void {
    this.decisions$.next(decision);
  }

  private decide(alert: Alert): void {
    const out = this.policy.decide(alert);
    for (const d of out.decisions) this.decisions$.next(d);
    if (out.suppressed !== undefined && out.decisions.length === 0) this.suppressed$.next({ alert, why: out.suppressed });
  }

  complete(): void {
    this.security.complete();
    this.calls.complete();
    this.events.complete();
    this.sub.unsubscribe();
    this.decisions$.complete();
    this.suppressed$.complete();
  }
}
