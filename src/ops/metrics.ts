// Prometheus endpoint (prom-client). A private Registry, not the global one:
// tests and the demo may build several pipelines in one process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observable, Subscription } from 'rxjs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { AmiCounters, ConnectionState, ConnectionStatus } from '../sources/ami/client.ts';

export interface MetricsSources {
  readonly pipeline: Pipeline;
  readonly ami?: { readonly state$: Observable<ConnectionState>; readonly counters: Readonly<AmiCounters> };
  readonly now?: () => number;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics, including nodejs_eventloop_lag_seconds. Default true. */
  readonly defaultMetrics?: boolean;
  readonly version?: string;
}

/** Listening failed: the message is one line that names the fix. */
export class MetricsListenError extends Error {
  override readonly name = 'MetricsListenError';
}

const STATES: readonly ConnectionStatus[] = ['connecting', 'connected', 'disconnected', 'auth-failed', 'stopped'];

export class Metrics {
  readonly registry = new Registry();
  private readonly subs: Subscription[] = [];
  private server: http.Server | undefined;

  constructor(src: MetricsSources, opts: MetricsOptions = {}) {
    const r = this.registry;
    const now = src.now ?? Date.now;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    new Gauge({ name: 'sipwarden_info', help: 'Always 1; the version label says which sipwarden runs.', labelNames: ['version'], registers: [r] }).set({ version: opts.version ?? 'unknown' }, 1);

    // Label values come from the normalizer's closed set of event types, the
    // config's rule ids and the action enum: never from attacker text.
    const events = new Counter({ name: 'sipwarden_events_total', help: 'AMI events normalized, by event type.', labelNames: ['type'], registers: [r] });
    const attempts = new Counter({
      name: 'sipwarden_attempts_total',
      help: 'Security attempts (UDP retransmits counted once), by service and outcome (failure = refusal, success = SuccessfulAuth/ChallengeSent).',
      labelNames: ['service', 'outcome'],
      registers: [r],
    });
    const lag = new Histogram({
      name: 'sipwarden_pipeline_lag_seconds',
      help: "Wall clock at processing minus the event's own time (Asterisk EventTV): AMI delivery plus our queueing.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [r],
    });
    const detections = new Counter({ name: 'sipwarden_detections_total', help: 'Rule alerts (before policy: whitelist, trust, existing bans).', labelNames: ['rule'], registers: [r] });
    const decisions = new Counter({ name: 'sipwarden_decisions_total', help: 'Decisions taken, by action and rule.', labelNames: ['action', 'rule'], registers: [r] });
    const suppressed = new Counter({ name: 'sipwarden_suppressed_total', help: 'Alerts that led to no decision (whitelisted, trusted, already banned), by rule.', labelNames: ['rule'], registers: [r] });
    const pipeline = src.pipeline;
    new Gauge({
      name: 'sipwarden_active_decisions',
      help: 'Bans and blocks in force now, by action.',
      labelNames: ['action'],
      registers: [r],
      collect() {
        this.reset();
        for (const a of ['ban-ip', 'block-account', 'block-intl', 'hangup']) this.set({ action: a }, 0);
        for (const d of pipeline.policy.activeDecisions()) if (d.action !== 'watch') this.inc({ action: d.action });
      },
    });

    this.subs.push(
      pipeline.events$.subscribe((e) => {
        events.inc({ type: e.type });
        const ms = now() - e.time;
        if (Number.isFinite(ms)) lag.observe(Math.max(0, ms) / 1000);
        if (e.kind === 'security' && e.attempt) {
          attempts.inc({ service: e.service.slice(0, 16), outcome: e.type === 'SuccessfulAuth' || e.type === 'ChallengeSent' ? 'success' : 'failure' });
        }
      }),
      pipeline.alerts$.subscribe((a) => detections.inc({ rule: a.rule })),
      pipeline.decisions$.subscribe((d) => decisions.inc({ action: d.action, rule: d.rule })),
      pipeline.suppressed$.subscribe((s) => suppressed.inc({ rule: s.alert.rule })),
    );
    // Plain counters kept elsewhere, exported by their growth.
    const growthOf = (name: string, help: string, read: () => number) => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          const v = read();
          if (v > seen) this.inc(v - seen);
          seen = v;
        },
      });
    };
    growthOf(
      'sipwarden_events_from_banned_total',
      'Security events from a source or network with a ban in force (passed over by the ban rules). In enforce mode, steady growth means packets get past the firewall.',
      () => pipeline.fromBanned,
    );

    const ami = src.ami;
    if (ami) {
      const state = new Gauge({ name: 'sipwarden_ami_state', help: 'AMI connection state: 1 for the current state, 0 for the others.', labelNames: ['state'], registers: [r] });
      const up = new Gauge({ name: 'sipwarden_ami_connected', help: '1 while logged in to AMI.', registers: [r] });
      const since = new Gauge({ name: 'sipwarden_ami_state_since_seconds', help: 'Unix time of the last AMI state change.', registers: [r] });
      for (const s of STATES) state.set({ state: s }, 0);
      up.set(0);
      this.subs.push(
        ami.state$.subscribe((s) => {
          for (const x of STATES) state.set({ state: x }, x === s.status ? 1 : 0);
          up.set(s.status === 'connected' ? 1 : 0);
          since.set(s.since / 1000);
        }),
      );
      const fromCounter = (name: string, help: string, key: keyof AmiCounters) => growthOf(name, help, () => ami.counters[key]);
      fromCounter('sipwarden_ami_reconnects_total', 'AMI connection attempts after the first.', 'reconnects');
      fromCounter('sipwarden_ami_auth_failures_total', 'AMI logins refused (wrong secret or user).', 'authFailures');
      fromCounter('sipwarden_ami_frames_total', 'AMI frames received (events and responses).', 'frames');
      fromCounter('sipwarden_ami_action_timeouts_total', 'AMI actions that got no response in time.', 'actionTimeouts');
      fromCounter('sipwarden_ami_ping_timeouts_total', 'Keep-alive pings unanswered (the connection is then dropped).', 'pingTimeouts');
    }
  }

  /** The exposition text (what GET /metrics returns). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves GET /metrics on host:port. Rejects with a one-line MetricsListenError. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        this.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
        );
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('sipwarden: metrics at /metrics\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    // A scraper must not be able to hold sockets open forever.
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, host, port)));
      server.listen({ host, port }, () => resolve());
    });
    server.unref();
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.registry.clear();
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): MetricsListenError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new MetricsListenError(`metrics endpoint ${where} is already in use: stop the program listening there (ss -ltnp 'sport = :${port}') or set another metrics.port (or metrics.enabled: false) in the config`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new MetricsListenError(`metrics endpoint ${where}: ${err.code}, not an address of this host: set metrics.host to a local address such as 127.0.0.1`);
    case 'EACCES':
      return new MetricsListenError(`metrics endpoint ${where}: permission denied (ports below 1024 need privileges): set metrics.port to 1024 or above (default 9477)`);
    default:
      return new MetricsListenError(`metrics endpoint ${where}: ${err.code ?? err.message}: check metrics.host/metrics.port in the config`);
  }
}

/** Builds the metrics and starts the endpoint; the caller stops it with close(). */
export async function startMetrics(src: MetricsSources, cfg: { host: string; port: number }, opts: MetricsOptions = {}): Promise<Metrics> {
  const m = new Metrics(src, opts);
  try {
    await m.listen(cfg.host, cfg.port);
  } catch (err) {
    await m.close();
    throw err;
  }
  return m;
}
