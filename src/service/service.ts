import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import type { Config } from '../config/config.ts';
import type { Decision } from '../domain/types.ts';
import { loadConfig } from '../config/load.ts';
import { parseDuration } from '../config/duration.ts';
import { AmiClient, type ConnectionState } from '../sources/ami/client.ts';
import { warmUp } from '../pipeline/warm-up.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import type { HeldDecision } from '../policy/policy.ts';
import { Dispatcher } from '../respond/dispatcher.ts';
import { LogResponder } from '../respond/log-responder.ts';
import { AclResponder } from '../respond/asterisk-acl.ts';
import { validateIp } from '../respond/ip-validate.ts';
import { escapeText } from '../console/escape.ts';
import { StateLock } from '../store/lock.ts';
import { BanJournal, decisionOf, targetKeyOf, wholeDecision } from '../store/journal.ts';
import { reconcileOnStart } from '../store/reconcile.ts';
import { ControlServer } from '../control/server.ts';
import { discoverTrunks, keepTrusted } from '../trust/discover-trunks.ts';
import { logDecision } from './decision-log.ts';
import { buildEnforcement, type Enforcement } from './responders.ts';
import { attachTollFraudGuard, type TollFraudGuard } from '../calls/guard.ts';

export interface ServiceOptions {
  readonly configPath: string;
  readonly logger: Logger;
  /** Force dry-run whatever the config says. */
  readonly dryRun?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The long-running guard: AMI client -> pipeline -> dispatcher -> responders,
 * with the journal, the control socket and trunk discovery around it. Owns
 * the lifecycles (start, SIGHUP reload, stop); each stage does its own job.
 */
export class Service {
  config: Config;
  readonly ami: AmiClient;
  readonly pipeline: Pipeline;
  tollFraud: TollFraudGuard;
  readonly dispatcher: Dispatcher;
  readonly dryRun: boolean;
  journal: BanJournal | undefined;
  enforcement: Enforcement | undefined;
  private lock: StateLock | undefined;
  private control: ControlServer | undefined;
  private readonly subs: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** Latest dispatch latencies (ms), for the reaction figures. */
  readonly latencies: number[] = [];
  connection: ConnectionState | undefined;
  private readonly log: Logger;
  private discovered: ReadonlyArray<{ cidr: string; why: string }> = [];

  constructor(private readonly opts: ServiceOptions) {
    this.config = loadConfig(opts.configPath, opts.env ?? process.env);
    this.dryRun = opts.dryRun === true || this.config.mode === 'dry-run';
    const log = (this.log = opts.logger);
    const a = this.config.ami;
    this.ami = new AmiClient({
      host: a.host,
      port: a.port,
      username: a.username,
      secret: a.secret,
      events: a.events,
      actionTimeoutMs: a.actionTimeoutMs,
      pingIntervalMs: a.pingIntervalMs,
      pingTimeoutMs: a.pingTimeoutMs,
      reconnect: { initialMs: a.reconnectInitialMs, maxMs: a.reconnectMaxMs },
      authFailedRetryMs: a.authFailRetryMs,
      logger: log,
      escape: (s) => escapeText(s),
    });
    this.pipeline = new Pipeline(this.config, {
      dryRun: this.dryRun,
      onIssue: (i) => log.warn({ component: 'normalize', reason: i.reason, event: escapeText(i.event, 40), detail: escapeText(i.detail, 120) }, 'frame skipped'),
      onDetectorError: (err, rule) => log.error({ component: 'detect', rule, error: String(err) }, 'detector error (event skipped)'),
      priorOffences: (key, since) => this.journal?.offences(key, since) ?? 0,
    });
    // Toll-fraud guard: call tracking, limits, hangup/block-intl decisions onto the pipeline.
    this.tollFraud = attachTollFraudGuard(this.pipeline, this.config.tollFraud, { dryRun: this.dryRun, logger: log.child({ component: 'toll-fraud' }) });
    this.dispatcher = new Dispatcher([new LogResponder(log.child({ component: 'dry-run' }))], log.child({ component: 'respond' }));
  }

  async start(): Promise<void> {
    const log = this.log;
    const cfg = this.config;
    this.lock = await StateLock.acquire(cfg.stateDir);
    this.journal = await BanJournal.open(join(cfg.stateDir, 'journal.json'), {
      onEvent: (e) => log.warn({ component: 'journal', event: e }, 'ban journal was damaged; recovered what could be recovered'),
    });
    this.pruneJournal();
    if (!this.dryRun) {
      this.enforcement = await buildEnforcement(cfg, { ami: this.ami, logger: log });
      for (const p of this.enforcement.problems) log.error({ component: 'respond' }, p);
      this.dispatcher.setResponders(this.enforcement.responders);
      if (this.enforcement.firewall) {
        await reconcileOnStart(this.enforcement.firewall, this.journal, Date.now(), log.child({ component: 'reconcile' }));
      }
    }
    // Bans from before a restart are live decisions: no double ban, unban works.
    for (const e of this.journal.active(Date.now())) {
      const d = decisionOf(e);
      this.pipeline.policy.adopt(d);
      // The kernel keeps its own bans across a restart; the Asterisk ACL file is rewritten, so refill it.
      for (const r of this.enforcement?.responders ?? []) if (r instanceof AclResponder && r.handles(d)) await r.apply(d).catch(() => {});
    }
    this.trust();
    // With discovery on, the trunks are known only once AMI is up: apply the blacklist then.
    if (!cfg.trunks.discover) await this.applyBlacklist();
    log.info({ responders: this.dispatcher.names, dryRun: this.dryRun, rules: cfg.rules.map((r) => r.id), activeBans: this.journal.active().length }, 'sipwarden starting');

    this.subs.push(
      this.ami.frames$.subscribe((f) => {
        try {
          this.pipeline.push(f);
        } catch (err) {
          log.error({ component: 'pipeline', error: String(err) }, 'frame handling failed (skipped)');
        }
      }),
      this.ami.state$.subscribe((s) => {
        this.connection = s;
        if (s.status === 'connected') void this.onConnected();
        if (s.status === 'auth-failed') log.error({ component: 'ami', reason: s.reason }, 'AMI login refused: check ami.username/secret (or SIPWARDEN_AMI_SECRET) and the user in manager.conf');
      }),
      this.pipeline.decisions$.subscribe((d) => void this.handle(d)),
    );
    this.control = new ControlServer(join(cfg.stateDir, 'control.sock'), this.controlHandlers(), log.child({ component: 'control' }));
    await this.control.start();
    this.every(5000, () => this.expire());
    this.every(3_600_000, async () => this.pruneJournal());
    if (cfg.asterisk.heartbeat && !this.dryRun) this.every(15_000, () => this.heartbeat());
    // Before the first real event: the first ban must not run cold code (src/pipeline/warm-up.ts).
    const warm = warmUp(cfg);
    log.debug({ component: 'pipeline', ...warm }, 'decision path warmed up on a synthetic attack');
    this.ami.start();
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => void fn().catch((err) => this.log.warn({ error: String(err) }, 'periodic task failed')), ms);
    t.unref();
    this.timers.push(t);
  }

  /** The never-ban list beside the whitelist: trunks (config and discovered) and the AMI host. */
  private trust(discovered: ReadonlyArray<{ cidr: string; why: string }> = this.discovered): void {
    this.discovered = discovered;
    const entries = [...this.config.trunks.addresses.map((cidr) => ({ cidr, why: 'trunk (config)' })), ...discovered];
    // This host's own addresses: a range ban must never cut the PBX off.
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal) entries.push({ cidr: a.address.replace(/%.*$/, ''), why: 'this host' });
    const host = this.config.ami.host;
    if (validateIp(host).ok) entries.push({ cidr: host, why: 'the AMI host' });
    else
      void lookup(host, { all: true })
        .then((as) => this.pipeline.policy.setTrusted([...entries, ...as.map((a) => ({ cidr: a.address, why: 'the AMI host' }))]))
        .catch(() => {});
    this.pipeline.policy.setTrusted(entries);
  }

  /**
   * The blacklist is a kernel set, replaced whole. An entry that covers a
   * whitelisted address, a trunk, the AMI host or the PBX is left out, loudly:
   * a typo in the blacklist must not cut the PBX off its provider.
   */
  private async applyBlacklist(): Promise<void> {
    const fw = this.enforcement?.firewall;
    if (!fw) return;
    const keep: string[] = [];
    for (const cidr of this.config.blacklist) {
      const why = this.pipeline.policy.protection(cidr);
      if (why) this.log.error({ component: 'respond', cidr }, `blacklist entry ${cidr} not applied: it covers an address that is ${why}`);
      else keep.push(cidr);
    }
    try {
      const r = await fw.setBlacklist(keep);
      for (const x of r.rejected) this.log.error({ component: 'respond' }, `blacklist entry ${x.cidr} refused: ${x.reason}`);
    } catch (err) {
      this.log.error({ component: 'respond', error: (err as Error).message }, 'blacklist update failed');
    }
  }

  private async onConnected(): Promise<void> {
    // Calls in progress are re-learnt first: counts must be right after a restart or reconnect.
    await this.rebuildCalls();
    if (this.config.trunks.discover) {
      try {
        const { entries: found, problems } = await discoverTrunks((f) => this.ami.action(f));
        // Never fewer than before: after an Asterisk restart the first answer may not list them yet.
        const entries = keepTrusted(this.discovered, found);
        this.trust(entries);
        await this.applyBlacklist();
        this.log.info({ component: 'trust', trunks: entries.map((e) => `${e.cidr} (${e.why})`), found: found.length }, `${entries.length} trunk address(es) will never be banned`);
        for (const p of problems) this.log.warn({ component: 'trust' }, escapeText(p, 200));
      } catch (err) {
        this.log.warn({ component: 'trust', error: (err as Error).message }, 'trunk discovery failed; only configured trunks are protected');
      }
    }
    // Asterisk may have restarted: maintenance mode is not persistent, a deferred ACL reload may wait.
    for (const r of this.enforcement?.responders ?? []) if (r instanceof AclResponder) await r.onConnected().catch(() => {});
    for (const d of this.pipeline.policy.activeDecisions()) if (d.action === 'block-account' || d.action === 'block-intl') await this.enforcement?.asterisk.apply(this.whole(d)).catch(() => {});
    await this.heartbeat().catch(() => {});
  }

  private async rebuildCalls(): Promise<void> {
    try {
      this.tollFraud.tracker.beginRebuild();
      const r = await this.ami.action({ Action: 'CoreShowChannels' });
      if (r.ok) this.tollFraud.rebuild(r.events);
      this.log.info({ component: 'toll-fraud', calls: this.tollFraud.tracker.size }, 'calls in progress re-learnt from CoreShowChannels');
    } catch (err) {
      this.log.warn({ component: 'toll-fraud', error: (err as Error).message }, 'CoreShowChannels failed; call counts start from zero');
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.connection?.status === 'connected' && this.enforcement) await this.enforcement.asterisk.heartbeat();
  }

  private async handle(d: Decision): Promise<void> {
    if (d.action === 'watch') {
      logDecision(this.log, d, this.config.log.fail2banFormat);
      return;
    }
    // Enforce first: every millisecond here is another guess a cracker gets through.
    const applied = this.dispatcher.apply(d);
    logDecision(this.log, d, this.config.log.fail2banFormat);
    this.journal?.record(d);
    const r = await applied;
    this.latencies.push(r.ms);
    if (this.latencies.length > 10_000) this.latencies.splice(0, 5000);
  }

  /**
   * Drops journal entries that ended longer ago than the offence window: past it
   * they no longer count for escalation, and kept, the journal (held in memory
   * whole) would grow with every ban ever made.
   */
  private pruneJournal(): void {
    const dropped = this.journal?.prune(Date.now(), this.config.bans.offenceWindowMs) ?? 0;
    if (dropped > 0) this.log.info({ component: 'journal', dropped }, 'bans that ended before the offence window dropped from the journal');
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    // Retransmit keys live 32 s of event time; when events stop, wall time moves them on.
    this.pipeline.normalizer.sweep(Math.max(now, this.pipeline.normalizer.now));
    for (const d of this.pipeline.policy.expire(now)) {
      if (d.action === 'watch') continue;
      this.log.info({ event: 'expired', action: d.action, ip: d.target.ip, account: d.target.account, rule: d.rule }, 'decision expired');
      await this.dispatcher.revoke(this.whole(d));
    }
  }

  /** The policy holds decisions without reason and evidence; the journal has them. */
  private whole(d: HeldDecision): Decision {
    return this.journal ? this.journal.whole(d) : wholeDecision(d, undefined);
  }

  private controlHandlers() {
    const now = () => Date.now();
    return {
      status: async () => ({ connection: this.connection?.status, responders: this.dispatcher.names, dryRun: this.dryRun, problems: this.enforcement?.problems ?? [], events: this.pipeline.normalizer.counters }),
      bans: async () =>
        this.pipeline.policy.activeDecisions().map((d) => ({ target: d.target, action: d.action, rule: d.rule, reason: this.journal?.get(d.id)?.reason ?? '', since: d.time, expiresAt: d.expiresAt, leftMs: Math.max(0, d.expiresAt - now()), offence: d.offence })),
      ban: async (req: Record<string, unknown>) => {
        const v = validateIp(req.ip);
        if (!v.ok) throw new Error(`refused: ${v.reason}`);
        const why = this.pipeline.policy.protection(v.ip);
        if (why) throw new Error(`refused: ${v.ip} is ${why}`);
        const forMs = req.for === undefined ? 86_400_000 : parseDuration(req.for);
        if (!Number.isFinite(forMs) || forMs <= 0) throw new Error(`refused: --for ${JSON.stringify(String(req.for).slice(0, 20))} is not a duration such as 30m, 1h, 7d`);
        const reason = typeof req.reason === 'string' && req.reason ? req.reason.slice(0, 200) : 'manual ban';
        const t = now();
        const d: Decision = {
          id: `m${t.toString(36)}`,
          action: 'ban-ip',
          target: { ip: v.ip },
          rule: 'manual',
          reason,
          time: t,
          durationMs: forMs,
          expiresAt: t + forMs,
          offence: 0,
          allPorts: true,
          evidence: { attempts: 0, events: 0, first: new Date(t).toISOString(), last: new Date(t).toISOString(), sampleAccounts: [], sampleIps: [v.ip] },
          dryRun: this.dryRun,
        };
        this.pipeline.policy.release({ ip: v.ip });
        this.pipeline.policy.adopt(d);
        this.pipeline.emit(d);
        return { banned: v.ip, expiresAt: d.expiresAt };
      },
      unban: async (req: Record<string, unknown>) => {
        const v = validateIp(req.ip);
        if (!v.ok) throw new Error(`refused: ${v.reason}`);
        const d = this.pipeline.policy.release({ ip: v.ip });
        const revoked = this.journal?.revokeTarget(targetKeyOf({ ip: v.ip }), 'manual unban') ?? [];
        const toRevoke = d ? this.whole(d) : revoked[0] ? decisionOf(revoked[0]) : undefined;
        if (!toRevoke) return { unbanned: v.ip, wasBanned: false };
        const r = await this.dispatcher.revoke({ ...toRevoke, target: { ip: v.ip } });
        this.log.info({ event: 'unban', ip: v.ip, applied: r.applied }, 'manual unban');
        return { unbanned: v.ip, wasBanned: true, failed: r.failed };
      },
      why: async (req: Record<string, unknown>) => {
        const v = validateIp(req.ip);
        if (!v.ok) throw new Error(`refused: ${v.reason}`);
        const history = (this.journal?.byIp(v.ip) ?? []).map((e) => ({ ...e }));
        const active = this.pipeline.policy.activeFor({ ip: v.ip });
        return { ip: v.ip, protection: this.pipeline.policy.protection(v.ip), active: active ? this.whole(active) : null, history };
      },
    };
  }

  /** SIGHUP: re-read the config; detector windows, bans and history stay. */
  reload(): { ok: true } | { ok: false; error: string } {
    try {
      const next = loadConfig(this.opts.configPath, this.opts.env ?? process.env);
      this.config = next;
      this.pipeline.reload(next);
      // New call limits take effect now; onConnected() below re-learns the calls in progress.
      this.tollFraud.stop();
      this.tollFraud = attachTollFraudGuard(this.pipeline, next.tollFraud, { dryRun: this.dryRun, logger: this.log.child({ component: 'toll-fraud' }) });
      this.trust();
      void this.applyBlacklist();
      if (this.connection?.status === 'connected') void this.onConnected();
      this.log.info({ rules: next.rules.map((r) => r.id) }, 'config reloaded');
      return { ok: true };
    } catch (err) {
      // A bad edit must not take protection down: keep the running config.
      this.log.error({ error: (err as Error).message }, 'config reload failed; keeping the running config');
      return { ok: false, error: (err as Error).message };
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subs) s.unsubscribe();
    await this.control?.stop();
    await this.ami.stop();
    await this.journal?.flush().catch(() => {});
    await this.dispatcher.shutdown();
    this.tollFraud.stop();
    this.pipeline.complete();
    await this.lock?.release();
  }
}
