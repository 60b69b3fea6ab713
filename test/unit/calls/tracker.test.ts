import assert from 'node:assert/strict';
import { CallTracker, accountOf, type CallFact } from '../../../src/calls/tracker.ts';
import { fixtureEvents, fixtureFrames, sec } from '../../helpers/fixtures.ts';
import { callEv, defaults } from './helpers.ts';

function tracker() {
  const facts: CallFact[] = [];
  const t = new CallTracker(defaults, (f) => facts.push(f));
  return { t, facts };
}

describe('calls: tracker', () => {
  it('account from the channel name, else CallerIDNum', () => {
    assert.equal(accountOf('PJSIP/1002-0000000a', '555'), '1002');
    assert.equal(accountOf('PJSIP/alice@example-0000000a', '555'), 'alice@example');
    assert.equal(accountOf('Local/123@ctx-00000001;1', '1001'), '1001');
  });
  it('counts the fixture burst: 21 calls of 1002 from 198.18.0.13, all ended at the end', () => {
    const { t, facts } = tracker();
    let maxUp = 0;
    for (const e of fixtureEvents('intl-call-burst.ami')) {
      if (e.kind === 'security') t.onSecurity(e);
      else t.onCall(e);
      maxUp = Math.max(maxUp, t.size);
    }
    const starts = facts.filter((f) => f.type === 'start');
    assert.equal(starts.length, 21);
    assert.ok(starts.every((f) => f.type === 'start' && f.call.account === '1002' && f.call.ip === '198.18.0.13'));
    assert.deepEqual(
      Object.fromEntries(['premium', 'international', 'national'].map((k) => [k, starts.filter((f) => f.type === 'start' && f.call.dest.class === k).length])),
      { premium: 12, international: 6, national: 3 },
    );
    assert.ok(maxUp >= 8, `many calls up at once (${maxUp})`);
    assert.equal(t.size, 0);
  });
  it('a dialed leg (Uniqueid != Linkedid) is not a second call', () => {
    const { t } = tracker();
    t.onCall(callEv({ n: 1 }));
    t.onCall(callEv({ n: 2, channel: 'PJSIP/provider-00000002', linkedId: '1795346327.1', account: 'provider' }));
    assert.equal(t.size, 1);
  });
  it('a call that starts at `s` takes its number from Newexten', () => {
    const { t, facts } = tracker();
    t.onCall(callEv({ n: 5, exten: 's' }));
    assert.equal(t.size, 0);
    t.onCall(callEv({ n: 5, type: 'Newexten', exten: '00442079460000' }));
    assert.equal(t.size, 1);
    assert.equal(facts[0]!.type === 'start' && facts[0]!.call.dest.class, 'international');
  });
  it('the source IP comes from a SuccessfulAuth of the account shortly before, not from long ago', () => {
    const { t } = tracker();
    t.onSecurity(sec({ type: 'SuccessfulAuth', account: '1002', ip: '198.18.0.13', time: 1000 }));
    t.onCall(callEv({ n: 7, time: 1200 }));
    t.onCall(callEv({ n: 8, time: 60_000 }));
    assert.equal(t.get('1795346327.7')!.ip, '198.18.0.13');
    assert.equal(t.get('1795346327.8')!.ip, undefined);
  });
  it('compromise: success from a new address, or after failures, makes the account suspect for a while', () => {
    const { t } = tracker();
    t.onSecurity(sec({ type: 'SuccessfulAuth', account: '1001', ip: '198.18.0.11', time: 0 }));
    assert.equal(t.suspectWhy('1001', 1), undefined, 'the first address is learnt');
    t.onSecurity(sec({ type: 'SuccessfulAuth', account: '1001', ip: '198.18.0.66', time: 1000 }));
    assert.match(t.suspectWhy('1001', 2000) ?? '', /new address 198.18.0.66/);
    assert.equal(t.suspectWhy('1001', 1000 + 3_600_001), undefined, 'for a while only');
    for (let i = 0; i < 3; i++) t.onSecurity(sec({ account: '1004', ip: `198.18.0.${20 + i}`, time: i, sessionId: `s${i}` }));
    t.onSecurity(sec({ type: 'SuccessfulAuth', account: '1004', ip: '198.18.0.12', time: 10 }));
    assert.match(t.suspectWhy('1004', 11) ?? '', /after 3 failed attempts/);
  });
  it('compromise: a spray of made-up account names does not push a real account\'s failures out', () => {
    const { t } = tracker();
    for (let i = 0; i < 3; i++) t.onSecurity(sec({ account: '1004', ip: `198.18.0.${20 + i}`, time: i, sessionId: `s${i}` }));
    // More unknown names than the tracker holds accounts (10,000).
    for (let i = 0; i < 12_000; i++) t.onSecurity(sec({ type: 'InvalidAccountID', account: `x${i}`, ip: '198.18.0.30', time: 5, sessionId: `i${i}` }));
    t.onSecurity(sec({ type: 'SuccessfulAuth', account: '1004', ip: '198.18.0.12', time: 10 }));
    assert.match(t.suspectWhy('1004', 11) ?? '', /after 3 failed attempts/);
  });
  it('rebuilds from CoreShowChannels: learns calls up, drops calls that ended while away', () => {
    const { t, facts } = tracker();
    t.onCall(callEv({ n: 99, account: '1001' })); // ended while we were disconnected
    t.rebuildFromCoreShowChannels(fixtureFrames('core-show-channels.ami'), 5000);
    const calls = t.list();
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.dest.class).sort(), ['international', 'premium']);
    assert.ok(calls.every((c) => c.source === 'list'));
    assert.ok(facts.some((f) => f.type === 'end' && f.call.uniqueId === '1795346327.99'));
    assert.equal(facts.filter((f) => f.type === 'present').length, 2);
  });
  it('list events that came through the pipeline are not dropped by the rebuild, nor counted twice', () => {
    const { t } = tracker();
    const list = fixtureEvents('core-show-channels.ami');
    t.beginRebuild();
    for (const e of list) if (e.kind === 'call') t.onCall(e);
    t.onCall(callEv({ n: 120, account: '1004' })); // started after the list was asked for
    t.rebuildFromCoreShowChannels(fixtureFrames('core-show-channels.ami'));
    assert.equal(t.size, 3);
  });
  it('reset forgets every call', () => {
    const { t, facts } = tracker();
    t.onCall(callEv({ n: 130 }));
    t.reset(1);
    assert.equal(t.size, 0);
    assert.equal(facts.at(-1)!.type, 'reset');
  });
  it('an injection attempt in Exten is tracked as an invalid call, its text kept out of the class', () => {
    const { t } = tracker();
    t.onCall(callEv({ n: 140, exten: '1234&Local/5555@from-internal' }));
    const c = t.get('1795346327.140')!;
    assert.equal(c.dest.class, 'invalid');
    assert.equal(c.dest.number, '');
  });
});
