import type { Logger } from 'pino';
import type { Subscription } from 'rxjs';
import type { Config } from '../config/config.ts';
import type { Decision } from '../domain/types.ts';
import { loadConfig } from '../config/load.ts';
import { AmiClient, type ConnectionState } from '../sources/ami/client.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { Dispatcher } from '../respond/dispatcher.ts';
import type { Responder } from '../respond/responder.ts';
import { LogResponder } from '../respond/log-responder.ts';
import { escapeText } from '../console/escape.ts';
import { logDecision } from './decision-log.ts';

export interface ServiceOptions {
  readonly configPath: string;
  readonly logger: Logger;
  /** Force dry-run whatever the config says. */
  readonly dryRun?: boolean;
  /** Builds the enforcing responders for a config (nft, AMI...). */
  readonly responders?: (cfg: Config, ctx: ServiceContext) => Promise<Responder[]>;
  readonly env?: NodeJS.ProcessEnv;
}

export interface ServiceContext {
  readonly ami: AmiClient;
  readonly logger: Logger;
}

/**
 * The long-running guard: AMI client -> pipeline -> dispatcher -> responders.
 * Owns the lifecycles (start, SIGHUP reload, stop); each stage does its own job.
 */
export class Service {
  config: Config;
  readonly ami: AmiClient;
  readonly pipeline: Pipeline;
  readonly dispatcher: Dispatcher;
  readonly dryRun: boolean;
  private readonly subs: Subscription[] = [];
  private expiry: NodeJS.Timeout | undefined;
  /** Latest dispatch latencies (ms), for the reaction figures. */
  readonly latencies: number[] = [];
  connection: ConnectionState | undefined;

  constructor(private readonly opts: ServiceOptions) {
    this.config = loadConfig(opts.configPath, opts.env ?? process.env);
    this.dryRun = opts.dryRun === true || this.config.mode === 'dry-run';
    const log = opts.logger;
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
      logger: log.child({ component: 'ami' }),
      escape: (s) => escapeText(s),
    });
    this.pipeline = new Pipeline(this.config, {
      dryRun: this.dryRun,
      onIssue: (i) => log.warn({ component: 'normalize', reason: i.reason, event: escapeText(i.event, 40), detail: escapeText(i.detail, 120) }, 'frame skipped'),
      onDetectorError: (err, rule) => log.error({ component: 'detect', rule, error: String(err) }, 'detector error (event skipped)'),
    });
    this.dispatcher = new Dispatcher([new LogResponder(log.child({ component: 'dry-run' }))], log.child({ component: 'respond' }));
  }

  async start(): Promise<void> {
    const log = this.opts.logger;
    if (!this.dryRun && this.opts.responders) {
      const rs = await this.opts.responders(this.config, { ami: this.ami, logger: log });
      if (rs.length) this.dispatcher.setResponders(rs);
    }
    log.info({ responders: this.dispatcher.names, dryRun: this.dryRun, rules: this.config.rules.map((r) => r.id) }, 'sipwarden starting');
    this.subs.push(
      this.ami.frames$.subscribe((f) => this.pipeline.push(f)),
      this.ami.state$.subscribe((s) => (this.connection = s)),
      this.pipeline.decisions$.subscribe((d) => void this.handle(d)),
    );
    this.expiry = setInterval(() => void this.expire(), 5000);
    this.expiry.unref();
    this.ami.start();
  }

  private async handle(d: Decision): Promise<void> {
    logDecision(this.opts.logger, d, this.config.log.fail2banFormat);
    if (d.action === 'watch') return;
    const r = await this.dispatcher.apply(d);
    this.latencies.push(r.ms);
    if (this.latencies.length > 10_000) this.latencies.splice(0, 5000);
  }

  private async expire(): Promise<void> {
    for (const d of this.pipeline.policy.expire(Date.now())) {
      if (d.action === 'watch') continue;
      this.opts.logger.info({ event: 'expired', action: d.action, ip: d.target.ip, account: d.target.account, rule: d.rule }, 'decision expired');
      await this.dispatcher.revoke(d);
    }
  }

  /** SIGHUP: re-read the config; detector windows, bans and history stay. */
  reload(): { ok: true } | { ok: false; error: string } {
    try {
      const next = loadConfig(this.opts.configPath, this.opts.env ?? process.env);
      this.config = next;
      this.pipeline.reload(next);
      this.opts.logger.info({ rules: next.rules.map((r) => r.id) }, 'config reloaded');
      return { ok: true };
    } catch (err) {
      // A bad edit must not take protection down: keep the running config.
      this.opts.logger.error({ error: (err as Error).message }, 'config reload failed; keeping the running config');
      return { ok: false, error: (err as Error).message };
    }
  }

  async stop(): Promise<void> {
    if (this.expiry) clearInterval(this.expiry);
    for (const s of this.subs) s.unsubscribe();
    await this.ami.stop();
    await this.dispatcher.shutdown();
    this.pipeline.complete();
  }
}
