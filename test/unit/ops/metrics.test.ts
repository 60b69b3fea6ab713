import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { BehaviorSubject } from 'rxjs';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { createReplay } from '../../../src/replay/replay.ts';
import { Metrics, MetricsListenError, startMetrics } from '../../../src/ops/metrics.ts';
import type { AmiCounters, ConnectionState } from '../../../src/sources/ami/client.ts';

const fixture = (f: string) => fileURLToPath(new URL(`../../fixtures/ami/${f}`, import.meta.url));

function fakeAmi() {
  const counters: AmiCounters = { frames: 0, events: 0, bytes: 0, malformedLines: 0, oversize: 0, invalidUtf8: 0, reconnects: 0, actionsSent: 0, actionTimeouts: 0, pingTimeouts: 0, authFailures: 0, unmatchedResponses: 0 };
  const state$ = new BehaviorSubject<ConnectionState>({ status: 'connecting', attempt: 1, since: Date.now() });
  return { counters, state$ };
}

/** `name{labels} value` -> value (labels as written by prom-client, in order). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ops/metrics', () => {
  const cfg = loadConfig(DEFAULT_CONFIG_PATH);

  it('exports events, attempts, detections, decisions, active bans, AMI state and lags from a real capture', async () => {
    const replay = createReplay(cfg);
    const ami = fakeAmi();
    const m = new Metrics({ pipeline: replay.pipeline, ami }, { version: '9.9.9' });
    try {
      await replay.feedFile(fixture('bruteforce-svcrack.ami'));
      ami.state$.next({ status: 'connected', attempt: 2, since: Date.now() });
      ami.counters.reconnects = 3;
      ami.counters.authFailures = 1;
      const t = await m.text();
      assert.ok(value(t, 'sipwarden_events_total{type="ChallengeResponseFailed"}')! >= 5, t.slice(0, 2000));
      assert.ok(value(t, 'sipwarden_attempts_total{service="PJSIP",outcome="failure"}')! >= 5);
      assert.ok(value(t, 'sipwarden_detections_total{rule="sip-auth-burst"}')! >= 1);
      assert.equal(value(t, 'sipwarden_decisions_total{action="ban-ip",rule="sip-auth-burst"}'), 1);
      assert.equal(value(t, 'sipwarden_active_decisions{action="ban-ip"}'), 1);
      assert.equal(value(t, 'sipwarden_active_decisions{action="block-account"}'), 0);
      // svcrack keeps guessing after its ban: those events are counted apart, not alerted on again.
      const fromBanned = replay.summary().fromBanned;
      assert.ok(fromBanned > 100, `events from the banned source: ${fromBanned}`);
      assert.equal(value(t, 'sipwarden_events_from_banned_total'), fromBanned);
      assert.equal(value(t, 'sipwarden_suppressed_total{rule="sip-auth-slow"}'), undefined);
      assert.equal(value(t, 'sipwarden_ami_connected'), 1);
      assert.equal(value(t, 'sipwarden_ami_state{state="connected"}'), 1);
      assert.equal(value(t, 'sipwarden_ami_state{state="connecting"}'), 0);
      assert.equal(value(t, 'sipwarden_ami_reconnects_total'), 3);
      assert.equal(value(t, 'sipwarden_ami_auth_failures_total'), 1);
      assert.ok(value(t, 'sipwarden_pipeline_lag_seconds_count')! >= 5);
      assert.equal(value(t, 'sipwarden_info{version="9.9.9"}'), 1);
      assert.match(t, /^nodejs_eventloop_lag_seconds \d/m);
      // Counters keep growing from the client's plain numbers, never double-count.
      ami.counters.reconnects = 5;
      assert.equal(value(await m.text(), 'sipwarden_ami_reconnects_total'), 5);
      assert.equal(value(await m.text(), 'sipwarden_ami_reconnects_total'), 5);
    } finally {
      await m.close();
      replay.close();
    }
  });

  it('never puts attacker text into a label (hostile AccountID capture)', async () => {
    const replay = createReplay(cfg);
    const m = new Metrics({ pipeline: replay.pipeline }, { defaultMetrics: false });
    try {
      await replay.feedFile(fixture('hostile-accountid.ami'));
      const t = await m.text();
      assert.ok(value(t, 'sipwarden_events_total{type="InvalidAccountID"}')! >= 1);
      assert.doesNotMatch(t, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      for (const l of t.split('\n').filter((x) => x.startsWith('sipwarden_'))) assert.match(l, /^[a-z_]+(\{([a-z_]+="[A-Za-z0-9_.:+-]*",?)+\})? [-+0-9.e]+$/i, l);
    } finally {
      await m.close();
      replay.close();
    }
  });

  it('serves /metrics over HTTP on the configured address', async () => {
    const replay = createReplay(cfg);
    const m = await startMetrics({ pipeline: replay.pipeline }, { host: '127.0.0.1', port: 0 }, { defaultMetrics: false });
    try {
      const port = (m as unknown as { server: net.Server }).server.address() as net.AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(await res.text(), /# TYPE sipwarden_events_total counter/);
      assert.equal((await fetch(`http://127.0.0.1:${port.port}/nope`)).status, 404);
    } finally {
      await m.close();
      replay.close();
    }
  });

  it('a port already in use: one-line error naming the fix', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const replay = createReplay(cfg);
    try {
      await assert.rejects(startMetrics({ pipeline: replay.pipeline }, { host: '127.0.0.1', port }, { defaultMetrics: false }), (err: Error) => {
        assert.ok(err instanceof MetricsListenError);
        assert.equal(err.message.split('\n').length, 1);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use: .*metrics\\.port`));
        return true;
      });
    } finally {
      replay.close();
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
