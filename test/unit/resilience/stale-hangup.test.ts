// Asterisk restart mid-attack, at the AMI level: the connection drops and
// comes back. Detection resumes on the new session without restarting
// anything, and a Hangup decided before the drop is never sent after the
// reconnect (channel names are reused by the new Asterisk: a stale Hangup
// could cut an innocent call). The real-Asterisk version is in
// test/e2e/resilience-lab.test.ts.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import type { Decision } from '../../../src/domain/types.ts';
import { AmiClient } from '../../../src/sources/ami/client.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { AsteriskResponder } from '../../../src/respond/asterisk-ami.ts';
import { FakeAmi } from '../ami/fake-ami-server.ts';
import { ban } from '../respond/helpers.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await wait(10);
  }
}

const failure = (ip: string, n: number) =>
  `Event: ChallengeResponseFailed\r\nPrivilege: security,all\r\nEventTV: ${new Date().toISOString().replace('Z', '+0000')}\r\nSeverity: Error\r\nService: PJSIP\r\nAccountID: 1001\r\nSessionID: s-${ip}-${n}\r\nLocalAddress: IPV4/UDP/198.18.0.1/5060\r\nRemoteAddress: IPV4/UDP/${ip}/5060\r\nResponse: ${n.toString(16).padStart(32, '0')}\r\n\r\n`;

describe('resilience: AMI drop and return (Asterisk restart) mid-attack', function () {
  this.timeout(20_000);
  let fake: FakeAmi;
  let client: AmiClient;

  beforeEach(async () => {
    fake = new FakeAmi();
    await fake.start();
    client = new AmiClient({ host: '127.0.0.1', port: fake.port, username: fake.username, secret: fake.secret, reconnect: { initialMs: 50, maxMs: 100, jitter: 'none' }, pingIntervalMs: 60_000, logger: pino({ level: 'silent' }) });
  });
  afterEach(async () => {
    await client.stop();
    await fake.close();
  });

  it('detection resumes on the new session, bans from before stand, no stale Hangup after the reconnect', async () => {
    const pipeline = new Pipeline(loadConfig(DEFAULT_CONFIG_PATH), { dryRun: false });
    const decisions: Decision[] = [];
    pipeline.decisions$.subscribe((d) => decisions.push(d));
    client.frames$.subscribe((f) => pipeline.push(f));
    const asterisk = new AsteriskResponder({ ami: client, logger: pino({ level: 'silent' }), family: 'sipwarden', maintenance: false });
    client.start();
    await until(() => client.state.status === 'connected');

    // Attack 1 before the restart: banned.
    for (let n = 0; n < 5; n++) fake.broadcast(failure('198.18.7.1', n));
    await until(() => decisions.some((d) => d.target.ip === '198.18.7.1'));

    // A Hangup in flight when Asterisk goes away (Asterisk does not answer it).
    fake.silent.add('hangup');
    const hangup: Decision = { ...ban('198.18.7.1'), action: 'hangup', target: { channel: 'PJSIP/1002-00000001' }, durationMs: 0 };
    const inFlight = asterisk.apply(hangup).then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    await until(() => fake.received.some((r) => /hangup/i.test(r.frame.headers.find(([k]) => k === 'Action')?.[1] ?? '')));
    fake.dropAll();
    assert.equal(await inFlight, 'ConnectionLostError');
    // One decided while disconnected: refused at once, never queued.
    const whileDown = await asterisk.apply({ ...hangup, id: 'h2', target: { channel: 'PJSIP/1002-00000002' } }).then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    assert.match(whileDown, /NotConnectedError|ConnectionLostError/);

    await until(() => client.state.status === 'connected' && fake.connections >= 2);
    fake.silent.delete('hangup');
    // Attack 2 after the restart, no sipwarden restart: detected and banned.
    for (let n = 0; n < 5; n++) fake.broadcast(failure('198.18.7.2', n));
    await until(() => decisions.some((d) => d.target.ip === '198.18.7.2'));
    await wait(200);

    const after = fake.actionsOn(fake.connections).map((a) => a.toLowerCase());
    assert.ok(!after.includes('hangup'), `stale Hangup sent after reconnect: ${after.join(',')}`);
    // The ban made before the drop still stands in the policy (the kernel side is checked in e2e).
    assert.ok(pipeline.policy.activeDecisions().some((d) => d.target.ip === '198.18.7.1'), 'ban from before the restart is still active');
    assert.equal(decisions.filter((d) => d.target.ip === '198.18.7.1' && d.action === 'ban-ip').length, 1, 'not banned twice');
    pipeline.complete();
  });
});
