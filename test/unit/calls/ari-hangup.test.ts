import assert from 'node:assert/strict';
import { AriHangupResponder } from '../../../src/respond/ari-hangup.ts';
import type { Decision } from '../../../src/domain/types.ts';

const decision = (uniqueId: string): Decision => ({
  id: 'd1', action: 'hangup', target: { channel: 'PJSIP/1002-00000003', uniqueId }, rule: 'intl-concurrent', reason: 'r', time: 0, durationMs: 0, expiresAt: 0, offence: 0, allPorts: false, dryRun: false,
  evidence: { attempts: 1, events: 1, first: '', last: '', sampleAccounts: [], sampleIps: [] },
});

function fake(status: number) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(status === 204 ? null : '{"message":"x"}', { status });
  }) as unknown as typeof fetch;
  return { calls, f };
}

describe('respond: ARI hangup (fetch, no ari-client)', () => {
  it('DELETE /ari/channels/{uniqueid} with Basic auth, a cause and a timeout signal', async () => {
    const { calls, f } = fake(204);
    const r = new AriHangupResponder({ url: 'http://127.0.0.1:8088/ari/', username: 'sipwarden', password: 'pw', fetch: f });
    assert.ok(r.handles(decision('1795346328.3')));
    await r.apply(decision('1795346328.3'));
    assert.equal(calls[0]!.url, 'http://127.0.0.1:8088/ari/channels/1795346328.3?reason_code=21');
    assert.equal(calls[0]!.init.method, 'DELETE');
    assert.equal((calls[0]!.init.headers as Record<string, string>).authorization, `Basic ${Buffer.from('sipwarden:pw').toString('base64')}`);
    assert.ok(calls[0]!.init.signal instanceof AbortSignal);
  });
  it('404 (already gone) is fine; 401 and 500 are errors the dispatcher can catch', async () => {
    await new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: fake(404).f }).apply(decision('1.2'));
    await assert.rejects(new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: fake(401).f }).apply(decision('1.2')), /HTTP 401/);
    await assert.rejects(new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: fake(500).f }).apply(decision('1.2')), /HTTP 500/);
    await assert.rejects(new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: fake(401).f }).init(), /refused the credentials/);
  });
  it('refuses an id that is not a plain unique id (no path tricks)', async () => {
    const { calls, f } = fake(204);
    const r = new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: f });
    await assert.rejects(r.apply(decision('../asterisk/modules')), /refused/);
    assert.equal(calls.length, 0);
  });
  it('a hung server is given up on (AbortSignal timeout)', async () => {
    const hang = ((_u: string, init: RequestInit) => new Promise((_, rej) => init.signal!.addEventListener('abort', () => rej(init.signal!.reason)))) as unknown as typeof fetch;
    const r = new AriHangupResponder({ url: 'http://x/ari', username: 'u', password: 'p', fetch: hang, timeoutMs: 50 });
    await assert.rejects(r.apply(decision('1.2')), /timeout|aborted/i);
  });
});
