import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { Writable } from 'node:stream';
import { firstValueFrom, filter, timeout, take, toArray } from 'rxjs';
import { pino } from 'pino';
import type { AmiFrame } from '../../../src/domain/types.ts';
import {
  ActionTimeoutError,
  AmiClient,
  ConnectionLostError,
  NotConnectedError,
  type AmiClientOptions,
  type ConnectionState,
  type ConnectionStatus,
} from '../../../src/sources/ami/client.ts';
import { AmiValueError } from '../../../src/sources/ami/encode.ts';
import { header } from '../../../src/sources/ami/framer.ts';
import { FakeAmi } from './fake-ami-server.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitState(client: AmiClient, status: ConnectionStatus, ms = 3000): Promise<ConnectionState> {
  return firstValueFrom(
    client.state$.pipe(
      filter((s) => s.status === status),
      timeout(ms),
    ),
  );
}

/** Collects pino lines so tests can check what was logged. */
function memoryLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('AmiClient', () => {
  let server: FakeAmi;
  let client: AmiClient | undefined;

  const make = (extra: Partial<AmiClientOptions> = {}): AmiClient => {
    client = new AmiClient({
      host: '127.0.0.1',
      port: server.port,
      username: 'sipwarden',
      secret: 'right',
      reconnect: { initialMs: 50, maxMs: 400 },
      pingIntervalMs: 60000,
      ...extra,
    });
    return client;
  };

  beforeEach(async () => {
    server = new FakeAmi();
    await server.start();
  });

  afterEach(async () => {
    await client?.stop();
    client = undefined;
    await server.close();
  });

  it('logs in with `Events:` (not `Event:`) and streams events to frames$', async () => {
    const { logger, lines } = memoryLogger();
    const c = make({ logger });
    const got = firstValueFrom(c.frames$.pipe(take(2), toArray(), timeout(3000)));
    c.start();
    const state = await waitState(c, 'connected');
    assert.equal(state.greeting, 'Asterisk Call Manager/11.0.0');
    const login = server.received[0]!.frame;
    assert.equal(header(login, 'Action'), 'Login');
    assert.equal(header(login, 'Events'), 'security,call,dialplan');
    assert.ok(!login.headers.some(([k]) => k === 'Event'), 'no singular Event header');
    assert.ok(header(login, 'ActionID'));
    server.broadcast('Event: InvalidAccountID\r\nPrivilege: security,all\r\nAccountID: \x1b[2Jx\r\n\r\n');
    const frames: AmiFrame[] = await got;
    assert.deepEqual(
      frames.map((f) => header(f, 'Event')),
      ['FullyBooted', 'InvalidAccountID'],
    );
    assert.equal(c.counters.events, 2);
    // Every transition is logged, structured, and the secret never is.
    assert.ok(lines.some((l) => l.status === 'connecting'));
    assert.ok(lines.some((l) => l.status === 'connected' && l.component === 'ami'));
    assert.ok(!JSON.stringify(lines).includes('right'));
  });

  it('goes to auth-failed on a wrong secret and does not retry in a storm', async () => {
    server.secret = 'other';
    const c = make();
    c.start();
    const state = await waitState(c, 'auth-failed');
    assert.match(state.reason!, /Authentication failed/);
    assert.equal(state.nextRetryMs, 60000);
    await sleep(600);
    assert.equal(server.connections, 1, 'one login attempt, not a storm');
    assert.equal(c.state.status, 'auth-failed');
    assert.equal(c.counters.authFailures, 1);
  });

  it('stops for good after a refused login when authFailedRetryMs is 0', async () => {
    server.secret = 'other';
    const c = make({ authFailedRetryMs: 0 });
    c.start();
    const state = await waitState(c, 'auth-failed');
    assert.equal(state.nextRetryMs, undefined);
    assert.match(state.reason!, /not retrying/);
  });

  it('retries a refused login only after the long fixed delay', async () => {
    server.secret = 'other';
    const c = make({ authFailedRetryMs: 150 });
    c.start();
    await waitState(c, 'auth-failed');
    await sleep(500);
    assert.ok(server.connections >= 2 && server.connections <= 5, `connections ${server.connections}`);
  });

  it('rejects a timed-out action and forgets it (no leak)', async () => {
    const c = make();
    c.start();
    await waitState(c, 'connected');
    const started = Date.now();
    await assert.rejects(c.action({ Action: 'Silent' }, { timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof ActionTimeoutError);
      assert.equal(err.action, 'Silent');
      return true;
    });
    assert.ok(Date.now() - started >= 90);
    assert.equal(c.pendingActions, 0);
    assert.equal(c.counters.actionTimeouts, 1);
    // A late answer is counted and dropped, never matched to something else.
    const lateId = server.actionIds().at(-1)!;
    server.broadcast(`Response: Success\r\nActionID: ${lateId}\r\n\r\n`);
    await sleep(50);
    assert.equal(c.counters.unmatchedResponses, 1);
    assert.equal(c.state.status, 'connected');
  });

  it('answers a normal action and reports Response: Error as ok=false', async () => {
    const c = make();
    c.start();
    await waitState(c, 'connected');
    const pong = await c.action({ Action: 'Ping' });
    assert.equal(pong.ok, true);
    assert.equal(header(pong.response, 'Ping'), 'Pong');
    const bad = await c.action({ Action: 'NoSuchThing' });
    assert.equal(bad.ok, false);
    assert.equal(c.pendingActions, 0);
  });

  it('collects an EventList action into response + events', async () => {
    const c = make();
    const seen: string[] = [];
    c.frames$.subscribe((f) => seen.push(header(f, 'Event') ?? ''));
    c.start();
    await waitState(c, 'connected');
    const r = await c.action({ Action: 'CoreShowChannels' });
    assert.equal(r.ok, true);
    assert.equal(header(r.response, 'EventList'), 'start');
    assert.deepEqual(
      r.events.map((e) => header(e, 'Channel')),
      ['PJSIP/1002-00000001', 'PJSIP/1002-00000002'],
    );
    assert.equal(header(r.complete!, 'ListItems'), '2');
    assert.ok(seen.includes('CoreShowChannel'), 'list events also reach frames$');
  });

  it('reconnects when a Ping gets no Pong in time', async () => {
    const c = make({ pingIntervalMs: 50, pingTimeoutMs: 100 });
    c.start();
    await waitState(c, 'connected');
    server.pingSilent = true;
    const down = await waitState(c, 'disconnected');
    assert.match(down.reason!, /no Pong within 100 ms/);
    server.pingSilent = false;
    await waitState(c, 'connected');
    assert.equal(server.connections, 2);
    assert.ok(c.counters.pingTimeouts >= 1);
    assert.equal(c.counters.reconnects, 1);
  });

  it('on a dropped connection rejects pending actions, reconnects, and never re-sends them', async () => {
    const c = make({ random: () => 0.5 });
    c.start();
    await waitState(c, 'connected');
    const pending = c.action({ Action: 'Silent', Channel: 'PJSIP/1001-00000001' }, { timeoutMs: 5000 });
    await sleep(50);
    const oldIds = server.actionIds().filter((_, i) => server.received[i]!.conn === 1);
    const started = Date.now();
    server.dropAll();
    await assert.rejects(pending, ConnectionLostError);
    assert.ok(Date.now() - started < 1000, 'rejected at once, not at the deadline');
    const down = await waitState(c, 'disconnected');
    assert.equal(down.nextRetryMs, 25, 'full jitter: 0.5 * 50 ms');
    // While down: rejected at once, not queued.
    await assert.rejects(c.action({ Action: 'Hangup', Channel: 'PJSIP/1001-00000001' }), NotConnectedError);
    await waitState(c, 'connected');
    await c.action({ Action: 'Ping' });
    await sleep(100);
    const second = server.received.filter((r) => r.conn === 2);
    assert.deepEqual(second.map((r) => header(r.frame, 'Action')), ['Login', 'Ping']);
    for (const r of second) assert.ok(!oldIds.includes(header(r.frame, 'ActionID')!), 'old ActionID seen again');
    assert.ok(!server.actionsOn(2).includes('Hangup'));
    assert.equal(c.pendingActions, 0);
  });

  it('backs off exponentially up to maxMs while the PBX is down', async () => {
    const c = make({ random: () => 0.999999 });
    const delays: number[] = [];
    c.state$.subscribe((s) => {
      if (s.status === 'disconnected' && s.nextRetryMs !== undefined) delays.push(s.nextRetryMs);
    });
    await server.close(); // refuse connections
    c.start();
    await sleep(1500);
    assert.deepEqual(delays.slice(0, 5), [50, 100, 200, 400, 400]);
  });

  it('rejects CR/LF/NUL injection before anything is written', async () => {
    const c = make();
    c.start();
    await waitState(c, 'connected');
    const before = server.received.length;
    for (const fields of [
      { Action: 'Hangup', Channel: 'PJSIP/1001\r\nAction: Originate' },
      { Action: 'Hangup', Channel: 'x\nEvents: off' },
      { Action: 'Hangup', Channel: 'x\0y' },
      { Action: 'Hangup', 'Bad Key': 'x' },
      { Action: 'Hangup', ActionID: 'mine' },
    ]) {
      await assert.rejects(c.action(fields), AmiValueError);
    }
    await c.action({ Action: 'Ping' });
    assert.deepEqual(
      server.received.slice(before).map((r) => header(r.frame, 'Action')),
      ['Ping'],
    );
  });

  it('refuses credentials with CR/LF at construction', () => {
    assert.throws(() => make({ secret: 'x\r\nEvents: off' }), AmiValueError);
  });

  it('stop() logs off, completes, and leaves no timers or sockets', async () => {
    // Track the timers the client creates; the destroy hook fires when a
    // timer is cleared or has run, so what is left at the end is a leak.
    // (Mocha's own test timer is created here too: it is filtered out.)
    const live = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout' && /src[\\/]sources[\\/]ami/.test(new Error().stack ?? '')) live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const c = make({ pingIntervalMs: 20 });
      c.start();
      await waitState(c, 'connected');
      await sleep(50); // some pings go out
      const done = firstValueFrom(c.state$.pipe(toArray()));
      await c.stop();
      const states = await done;
      assert.equal(states.at(-1)!.status, 'stopped');
      await assert.rejects(c.action({ Action: 'Ping' }), NotConnectedError);
      await sleep(20);
      await new Promise((r) => setImmediate(r));
      assert.ok(server.actionsOn(1).includes('Logoff'));
      assert.equal(live.size, 0, `${live.size} timer(s) left`);
      assert.ok(!process.getActiveResourcesInfo().includes('TCPSocketWrap'), 'no socket left');
    } finally {
      hook.disable();
    }
  });
});
