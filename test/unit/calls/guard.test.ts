import assert from 'node:assert/strict';
import { loadConfig, DEFAULT_CONFIG_PATH, resolveConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/config/config.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { attachTollFraudGuard } from '../../../src/calls/guard.ts';
import type { Decision } from '../../../src/domain/types.ts';
import { fixtureFrames, sec } from '../../helpers/fixtures.ts';
import { callEv } from './helpers.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH, {});

function setup(cfg = config) {
  const p = new Pipeline(cfg, { dryRun: true });
  const g = attachTollFraudGuard(p, cfg.tollFraud, { dryRun: true });
  const decisions: Decision[] = [];
  p.decisions$.subscribe((d) => decisions.push(d));
  return { p, g, decisions };
}

describe('calls: toll-fraud guard with the example config', () => {
  it('stops intl-call-burst.ami after at most 3 calls: block-intl, then the calls up are hung up', () => {
    const { p, g, decisions } = setup();
    let startsBeforeBlock = -1;
    g.tracker; // calls counted through the guard's own tracker
    let starts = 0;
    g.alerts$.subscribe(() => undefined);
    p.calls$.subscribe((e) => e.type === 'Newchannel' && starts++);
    p.decisions$.subscribe((d) => d.action === 'block-intl' && startsBeforeBlock < 0 && (startsBeforeBlock = starts));
    for (const f of fixtureFrames('intl-call-burst.ami')) p.push(f);
    assert.ok(startsBeforeBlock > 0 && startsBeforeBlock <= 3, `blocked after ${startsBeforeBlock} calls`);
    const first = decisions[0]!;
    assert.equal(first.action, 'block-intl');
    assert.deepEqual(first.target, { account: '1002' });
    assert.match(first.reason, /premium call 2 .* 011882161234567 \(premium: high-risk range \+882\)/);
    const hangups = decisions.filter((d) => d.action === 'hangup');
    assert.ok(hangups.every((d) => /^PJSIP\/1002-[0-9a-f]{8}$/.test(d.target.channel!) && /^\d+\.\d+$/.test(d.target.uniqueId!)));
    assert.deepEqual(decisions.filter((d) => d.action !== 'hangup').map((d) => [d.action, d.target.account ?? d.target.ip]), [
      ['block-intl', '1002'],
      ['block-account', '1002'],
      ['ban-ip', '198.18.0.13'],
    ]);
    assert.equal(new Set(hangups.map((d) => d.target.uniqueId)).size, hangups.length, 'each call hung up once');
    assert.ok(decisions.every((d) => d.dryRun));
    // The blocks are the policy's too, so they expire (and are revoked) like the core's.
    assert.equal(p.policy.activeDecisions().filter((d) => d.action === 'ban-ip').length, 1);
    g.stop();
    p.complete();
  });

  it('leaves an office user making one or two international calls an hour alone', () => {
    const { p, decisions } = setup();
    const t0 = Date.UTC(2026, 10, 23, 9);
    for (let i = 0; i < 8; i++) {
      const t = t0 + i * 30 * 60_000;
      p.pushEvent(sec({ type: 'SuccessfulAuth', account: '1001', ip: '198.18.0.11', time: t - 100 }));
      p.pushEvent(callEv({ account: '1001', n: 500 + i, exten: i % 2 ? '00442079460000' : '0033142685300', time: t }));
      p.pushEvent(callEv({ account: '1001', n: 500 + i, type: 'Hangup', time: t + 10 * 60_000 }));
    }
    assert.deepEqual(decisions, []);
    p.complete();
  });

  it('never hangs up an emergency call, even of a blocked account', () => {
    const { p, decisions } = setup();
    for (let i = 0; i < 5; i++) p.pushEvent(callEv({ account: '1003', n: 600 + i, time: 1000 + i * 250 }));
    assert.ok(decisions.some((d) => d.action === 'block-intl'));
    const before = decisions.length;
    p.pushEvent(callEv({ account: '1003', n: 610, exten: '911', time: 3000 }));
    assert.equal(decisions.length, before);
    p.complete();
  });

  it('a suspect account (new address) is stopped at its second international call', () => {
    const { p, decisions } = setup();
    p.pushEvent(sec({ type: 'SuccessfulAuth', account: '1004', ip: '198.18.0.12', time: 0 }));
    p.pushEvent(sec({ type: 'SuccessfulAuth', account: '1004', ip: '198.18.1.99', time: 10_000 }));
    p.pushEvent(callEv({ account: '1004', n: 700, exten: '00442079460000', time: 10_100 }));
    assert.equal(decisions.length, 0);
    p.pushEvent(callEv({ account: '1004', n: 701, exten: '00442079460001', time: 10_200 }));
    assert.equal(decisions[0]?.action, 'hangup');
    assert.match(decisions[0]!.reason, /tightened: authenticated from a new address 198\.18\.1\.99/);
    p.complete();
  });

  it('an injection attempt as the dialed number never reaches a decision target or reason raw', () => {
    const { p, decisions } = setup();
    for (let i = 0; i < 25; i++) p.pushEvent(callEv({ account: '1002', n: 800 + i, exten: `1234&Local/${i}@from-internal\u001b[2J`, time: 1000 + i * 100 }));
    assert.ok(decisions.length > 0, 'the flood of junk attempts is limited (call-attempts)');
    for (const d of decisions) {
      assert.doesNotMatch(JSON.stringify(d), /Local\/|\u001b/);
    }
    p.complete();
  });

  it('rejects a misspelt tollFraud key, and an emergency class in a rule', () => {
    assert.throws(() => resolveConfig({ tollFraud: { dialling: {} } }, 'x.json'), (e: ConfigError) => e.problems.some((p) => p === 'tollFraud.dialling: unknown key'));
    assert.throws(
      () => resolveConfig({ tollFraud: { rules: [{ id: 'x', kind: 'concurrent', classes: ['emergency'], max: 1, action: 'hangup' }] } }, 'x.json'),
      (e: ConfigError) => e.problems.some((p) => /emergency calls are never limited/.test(p)),
    );
    assert.throws(() => resolveConfig({ tollFraud: { rules: [{ id: 'x', kind: 'rate', classes: ['premium'], max: 1, action: 'hangup' }] } }, 'x.json'), /window: required/);
    assert.equal(config.tollFraud.rules.length, 5);
    assert.equal(resolveConfig({}, 'x.json').tollFraud.rules.length, 5, 'defaults without a tollFraud section');
  });
});
