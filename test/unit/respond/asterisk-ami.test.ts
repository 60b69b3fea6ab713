import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AsteriskResponder } from '../../../src/respond/asterisk-ami.ts';
import type { Decision } from '../../../src/domain/types.ts';

function fakeAmi(answer: (f: Record<string, string>) => { ok: boolean; message?: string } = () => ({ ok: true })) {
  const sent: Record<string, string>[] = [];
  return {
    sent,
    action: async (f: Record<string, string>) => {
      sent.push(f);
      const a = answer(f);
      return { ok: a.ok, response: { headers: [['Response', a.ok ? 'Success' : 'Error'], ['Message', a.message ?? '']] as [string, string][] } };
    },
  };
}
const decision = (over: Partial<Decision>): Decision => ({
  id: 'd1', action: 'block-account', target: { account: '1002' }, rule: 'password-spray', reason: '', time: 1_000_000, durationMs: 600_000, expiresAt: 1_600_000, offence: 0, allPorts: false,
  evidence: { attempts: 3, events: 3, first: '', last: '', sampleAccounts: [], sampleIps: [] }, dryRun: false, ...over,
});
const logger = pino({ level: 'silent' });

describe('AsteriskResponder', () => {
  it('blocks an account in AstDB with its expiry and puts the endpoint in maintenance', async () => {
    const ami = fakeAmi();
    await new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true }).apply(decision({}));
    assert.deepEqual(ami.sent, [
      { Action: 'DBPut', Family: 'sipwarden/block', Key: '1002', Val: '1600' },
      { Action: 'PJSIPSetMaintenance', Endpoint: '1002', State: 'on' },
    ]);
  });
  it('falls back to AstDB alone where Asterisk has no PJSIPSetMaintenance', async () => {
    const ami = fakeAmi((f) => (f.Action === 'PJSIPSetMaintenance' ? { ok: false, message: 'Invalid/unknown command: PJSIPSetMaintenance.' } : { ok: true }));
    const r = new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true });
    await r.apply(decision({}));
    await r.apply(decision({ target: { account: '1003' } }));
    assert.equal(ami.sent.filter((f) => f.Action === 'PJSIPSetMaintenance').length, 1, 'asked once, then remembered');
  });
  it('revokes: deletes the key and ends maintenance', async () => {
    const ami = fakeAmi();
    const r = new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true });
    await r.apply(decision({}));
    await r.revoke(decision({}));
    assert.deepEqual(ami.sent.slice(2), [
      { Action: 'DBDel', Family: 'sipwarden/block', Key: '1002' },
      { Action: 'PJSIPSetMaintenance', Endpoint: '1002', State: 'off' },
    ]);
  });
  it('refuses account names that are not plain endpoint names, and "all"', async () => {
    for (const account of ['all', 'ALL', '1002&Local/x', '1002\r\nAction: Hangup', '', 'a'.repeat(65)]) {
      const ami = fakeAmi();
      await assert.rejects(new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true }).apply(decision({ target: { account } })), /refused/);
      assert.equal(ami.sent.length, 0, account);
    }
  });
  it('hangs up by exact channel name only, never a /regex/', async () => {
    const ami = fakeAmi();
    const r = new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true });
    await r.apply(decision({ action: 'hangup', target: { channel: 'PJSIP/1002-0000000a' } }));
    assert.deepEqual(ami.sent, [{ Action: 'Hangup', Channel: 'PJSIP/1002-0000000a', Cause: '21' }]);
    for (const channel of ['/PJSIP\\/.*/', '/.*/', 'PJSIP/1002 -x', 'PJSIP/a\nAction: Originate']) await assert.rejects(r.apply(decision({ action: 'hangup', target: { channel } })), /refused/);
    assert.equal(ami.sent.length, 1);
  });
  it('blocks international dialing under its own AstDB key', async () => {
    const ami = fakeAmi();
    await new AsteriskResponder({ ami, logger, family: 'sipwarden', maintenance: true }).apply(decision({ action: 'block-intl' }));
    assert.deepEqual(ami.sent, [{ Action: 'DBPut', Family: 'sipwarden/intl-block', Key: '1002', Val: '1600' }]);
  });
});
