import assert from 'node:assert/strict';
import { ActiveDecisions, ownId, type HeldDecision } from '../../../src/policy/active.ts';
import { OffenceHistory } from '../../../src/policy/history.ts';
import { targetKey } from '../../../src/policy/policy.ts';

function held(over: Partial<HeldDecision> = {}): HeldDecision {
  const time = over.time ?? 1_795_449_609_999;
  return { id: ownId(time, 7), action: 'ban-ip', target: { ip: 'fd00:5157:0:10d3:0:0:0:0/64' }, rule: 'subnet-distributed', time, durationMs: 600_000, expiresAt: time + 600_000, offence: 0, allPorts: false, dryRun: false, ...over };
}

describe('ActiveDecisions', () => {
  it('gives back what it was given, whatever the id and target', () => {
    const a = new ActiveDecisions();
    const cases: HeldDecision[] = [
      held(),
      held({ target: { ip: '198.18.0.11' }, id: 'm1abc', rule: 'manual', allPorts: true, offence: 2, durationMs: 86_400_000 }),
      held({ target: { ip: '198.18.0.12' }, id: 'adopted-1795449609999-3', expiresAt: Number.POSITIVE_INFINITY, durationMs: 0, dryRun: true }),
      held({ target: { account: '1002' }, action: 'block-account', rule: 'sip-auth-account' }),
      held({ target: { channel: 'PJSIP/1001-00000001', uniqueId: '1795449609.12' }, action: 'hangup', rule: 'toll-fraud', id: 'd1x-7' }),
      held({ target: { ip: '198.18.0.13' }, id: ownId(1_795_449_609_999, 8), time: 1_795_449_600_000 }),
    ];
    for (const d of cases) a.set(targetKey(d.target), d);
    assert.equal(a.size, cases.length);
    for (const d of cases) assert.deepEqual(a.get(targetKey(d.target)), d);
    assert.deepEqual(a.values(), cases);
  });
  it('replaces the decision of a target, and releases it', () => {
    const a = new ActiveDecisions();
    const key = targetKey({ ip: '198.18.0.11' });
    a.set(key, held({ target: { ip: '198.18.0.11' } }));
    a.set(key, held({ target: { ip: '198.18.0.11' }, rule: 'sip-auth-slow', id: 'm2', offence: 1 }));
    assert.equal(a.size, 1);
    assert.equal(a.get(key)?.rule, 'sip-auth-slow');
    assert.equal(a.get(key)?.id, 'm2');
    assert.equal(a.delete(key)?.offence, 1);
    assert.equal(a.get(key), undefined);
    assert.equal(a.delete(key), undefined);
  });
  it('expires what ended, and keeps working after a flood is gone', () => {
    const a = new ActiveDecisions();
    for (let i = 0; i < 1000; i++) a.set(targetKey({ ip: `198.18.${i >> 8}.${i & 255}` }), held({ target: { ip: `198.18.${i >> 8}.${i & 255}` }, expiresAt: 1000 + i }));
    assert.equal(a.expire(1499).length, 500);
    assert.equal(a.size, 500);
    assert.ok(a.values().every((d) => d.expiresAt >= 1500));
    assert.equal(a.expire(5000).length, 500);
    assert.equal(a.size, 0);
    a.set('ip:198.18.9.9', held({ target: { ip: '198.18.9.9' } }));
    assert.equal(a.get('ip:198.18.9.9')?.target.ip, '198.18.9.9');
  });
});

describe('OffenceHistory', () => {
  it('counts offences inside the window and forgets the old ones', () => {
    const h = new OffenceHistory();
    assert.equal(h.count('ip:a', 0), 0);
    h.add('ip:a', 100, 0);
    assert.equal(h.count('ip:a', 0), 1);
    assert.equal(h.count('ip:a', 100), 0);
    h.add('ip:a', 200, 0);
    h.add('ip:a', 300, 150);
    assert.equal(h.count('ip:a', 0), 2, 'the time at 100 was dropped when 300 came with since 150');
    h.add('ip:b', 50, 0);
    h.prune(100);
    assert.equal(h.size, 1);
    h.prune(300);
    assert.equal(h.size, 0);
  });
});
