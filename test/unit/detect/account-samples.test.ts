import assert from 'node:assert/strict';
import { AccountSamples } from '../../../src/detect/account-samples.ts';
import { Subject } from 'rxjs';
import { ACCOUNT_TEXTS, InternedTexts } from '../../../src/detect/interned-texts.ts';
import { createRuleEngine } from '../../../src/detect/detector.ts';
import { DetectorRegistry } from '../../../src/detect/registry.ts';
import type { DetectionRule } from '../../../src/detect/rule.ts';
import type { SecurityEvent } from '../../../src/domain/types.ts';
import { sec } from '../../helpers/fixtures.ts';
import { INT_CELLS, SAMPLE_FIRST, SAMPLE_MORE } from '../../../src/detect/slot-record.ts';
import { sampleContract } from './sample-contract.ts';

/** Samples over records of `slots` slots, with a table of their own to count what is held. */
function samples(slots: number): { s: AccountSamples; texts: InternedTexts; ints: Int32Array<ArrayBuffer> } {
  const texts = new InternedTexts();
  const s = new AccountSamples(texts);
  const ints = new Int32Array(slots * INT_CELLS);
  s.bind(ints);
  return { s, texts, ints };
}

describe('AccountSamples: evidence accounts as interned ids in the slot records', () => {
  sampleContract((slots) => samples(slots).s);

  it('holds each text once, while a sample refers to it, and forgets it with the last reference', () => {
    const { s, texts } = samples(300);
    for (let slot = 0; slot < 300; slot++) for (const v of ['1001', '1002', `scan${slot}`]) s.add(slot, v);
    assert.equal(texts.size, 2 + 300, 'shared accounts once, one text per scanned one');
    for (let slot = 0; slot < 300; slot += 2) s.clear(slot);
    assert.equal(texts.size, 2 + 150);
    for (let slot = 1; slot < 300; slot += 2) assert.deepEqual(s.values(slot), ['1001', '1002', `scan${slot}`], `slot ${slot} kept`);
    for (let slot = 1; slot < 300; slot += 2) s.clear(slot);
    assert.equal(texts.size, 0, 'no sample left, no text held');
  });

  it('a freed id given to a new text is never read as the old one', () => {
    const { s, texts } = samples(4);
    s.add(0, 'old');
    assert.equal(texts.idOf('old') > 0, true);
    s.clear(0);
    assert.equal(texts.idOf('old'), 0, 'the last asked text is not answered from the cache once freed');
    s.add(1, 'new');
    s.add(1, 'old');
    assert.deepEqual(s.values(1), ['new', 'old']);
    s.add(2, 'old');
    assert.deepEqual(s.values(2), ['old']);
  });

  it('writes only its own cells of the record', () => {
    const { s, ints } = samples(3);
    ints.fill(7);
    for (let slot = 0; slot < 3; slot++) {
      ints[slot * INT_CELLS + SAMPLE_FIRST] = 0;
      ints[slot * INT_CELLS + SAMPLE_MORE] = 0;
    }
    for (const v of ['a', 'b', 'c']) s.add(1, v);
    for (let i = 0; i < ints.length; i++) if (i % INT_CELLS !== SAMPLE_FIRST && i % INT_CELLS !== SAMPLE_MORE) assert.equal(ints[i], 7, `cell ${i}`);
  });

  it('reset gives every text back and starts empty', () => {
    const { s, texts } = samples(8);
    s.add(3, 'a');
    s.add(3, 'b');
    s.add(5, 'a');
    s.reset();
    assert.equal(texts.size, 0);
    assert.deepEqual(s.values(3), []);
    s.add(3, 'c');
    assert.deepEqual(s.values(3), ['c']);
  });
});

describe('account texts across engines and reloads', () => {
  const rule = (id: string): DetectionRule => ({ id, kind: 'threshold', match: { failures: true }, groupBy: 'ip', count: 'attempts', windowMs: 60_000, threshold: 50, action: 'ban-ip' });
  const accounts = ['acct-samples-test-1', 'acct-samples-test-2', 'acct-samples-test-3'];

  it('an engine unsubscribed gives its accounts back', () => {
    const before = ACCOUNT_TEXTS.size;
    const events$ = new Subject<SecurityEvent>();
    const sub = createRuleEngine([rule('a'), rule('b')])(events$).subscribe();
    for (const account of accounts) events$.next(sec({ account, time: 1000 }));
    assert.equal(ACCOUNT_TEXTS.size, before + accounts.length, 'two rules, each account held once');
    sub.unsubscribe();
    assert.equal(ACCOUNT_TEXTS.size, before);
  });

  it('a rule removed by a reload gives its accounts back; a rule kept keeps them', () => {
    const before = ACCOUNT_TEXTS.size;
    const reg = new DetectorRegistry();
    const events$ = new Subject<SecurityEvent>();
    const first = reg.detect([rule('kept'), rule('gone')], events$).subscribe();
    events$.next(sec({ account: accounts[0]!, time: 1000 }));
    first.unsubscribe();
    const second = reg.detect([rule('kept'), rule('new')], events$).subscribe();
    assert.equal(ACCOUNT_TEXTS.size, before + 1, 'the kept rule still holds its sample');
    events$.next(sec({ account: accounts[1]!, time: 1001 }));
    second.unsubscribe();
    reg.detect([], events$).subscribe().unsubscribe();
    assert.equal(ACCOUNT_TEXTS.size, before, 'no rule left, no account held');
  });
});
