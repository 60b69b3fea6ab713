import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AttemptDeduper, attemptKey, attemptKeyAt } from '../../../src/normalize/attempt-key.ts';
import { latin1View } from '../../helpers/bytes.ts';

/** The deduper as a plain Map (no cap): the reference. */
function reference(ttl: number) {
  const seen = new Map<number, number>();
  return (key: number, now: number): boolean => {
    const until = seen.get(key);
    if (until !== undefined && until >= now) return false;
    seen.set(key, now + ttl);
    return true;
  };
}

describe('retransmit deduper (typed-array hash set)', () => {
  it('answers as a Map of key -> expiry while under its cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom(2 ** 53 - 1, 2 ** 32, 2 ** 32 + 1, 0)), fc.constantFrom(0, 1, 10, 31_999, 32_000, 32_001, 100_000)), { maxLength: 3000 }),
        (steps) => {
          // A 4-cell table to start with: long probe chains, expired cells reused, many rebuilds.
          const d = new AttemptDeduper(32_000, 1_000_000, 4);
          const ref = reference(32_000);
          let now = 1;
          for (const [key, dt] of steps) {
            now += dt;
            assert.equal(d.isNew(key, now), ref(key, now), `key ${key} at ${now}`);
          }
        },
      ),
      { numRuns: 300, seed: 21 },
    );
  });

  it('past its cap forgets only old keys: never a retransmit that is not one, and the newest half of the cap always known', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.constantFrom(0, 1, 10, 5_000, 31_999, 32_001)), { maxLength: 4000 }),
        (steps) => {
          const MAX = 64;
          const d = new AttemptDeduper(32_000, MAX, 4);
          // Per key: when it last counted as new, and how many new keys had been counted by then.
          const seen = new Map<number, { at: number; nth: number }>();
          let news = 0;
          let now = 1;
          for (const [key, dt] of steps) {
            now += dt;
            const s = seen.get(key);
            const got = d.isNew(key, now);
            const live = s !== undefined && s.at + 32_000 >= now;
            // A key not seen within the lifetime is always a new attempt (never an uncounted guess).
            if (!live) assert.equal(got, true, `key ${key} at ${now}: unseen or expired, yet a retransmit`);
            // Seen within the lifetime and fewer than half the cap of new keys since: still known.
            else if (news - s.nth < MAX / 2) assert.equal(got, false, `key ${key} at ${now}: ${news - s.nth} new keys since, forgotten`);
            if (got) seen.set(key, { at: now, nth: ++news });
            assert.ok(d.size <= MAX, `size ${d.size}`);
          }
        },
      ),
      { numRuns: 300, seed: 23 },
    );
  });

  it('stays bounded under a flood of unique keys, keeps the newest, and empties when quiet', () => {
    const d = new AttemptDeduper(32_000, 10_000);
    let peak = 0;
    for (let i = 0; i < 200_000; i++) {
      assert.equal(d.isNew(i * 7920, 1 + i / 10), true);
      peak = Math.max(peak, d.size);
    }
    assert.ok(peak <= 10_001, `peak ${peak}`);
    const last = 199_999 * 7920;
    assert.equal(d.isNew(last, 1 + 199_999 / 10), false, 'the newest key is still known: a retransmit');
    d.trim(1 + 199_999 / 10 + 32_001);
    assert.equal(d.size, 0);
  });
});

describe('attemptKeyAt', () => {
  it('gives the key attemptKey gives for the same text, at any offset and near the end of the chunk', () => {
    const ascii = fc.string({ maxLength: 40, size: 'max' }).map((s) => s.replace(/[^\x00-\x7f]/g, '?'));
    const type = fc.constantFrom('ChallengeResponseFailed', 'InvalidAccountID', 'FailedACL', 'InvalidPassword');
    fc.assert(
      fc.property(type, fc.constantFrom('PJSIP', 'AMI'), fc.constantFrom('198.18.0.1', '198.18.144.182', 'fd00::1'), ascii, ascii, ascii, fc.nat({ max: 5 }), (t, service, ip, session, account, response, gap) => {
        const text = 'x'.repeat(gap) + ip + '|' + session + '|' + account + '|' + response;
        const view = latin1View(text);
        const s0 = gap + ip.length + 1;
        const a0 = s0 + session.length + 1;
        const r0 = a0 + account.length + 1;
        const got = attemptKeyAt(t, service, view, gap, ip.length, s0, session.length, a0, account.length, r0, response.length);
        assert.equal(got, attemptKey(t, service, ip, session, account, response));
      }),
      { numRuns: 5000, seed: 17 },
    );
  });
});
