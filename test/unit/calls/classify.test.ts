import assert from 'node:assert/strict';
import { classify } from '../../../src/calls/classify.ts';
import { resolveTollFraud } from '../../../src/calls/config.ts';

const us = resolveTollFraud(undefined, []).dialing;
const gb = resolveTollFraud({ dialing: { country: 'GB', internationalPrefixes: ['00', '+'], nationalPrefix: '0', countries: { deny: ['cu'] } } }, []).dialing;
const cls = (n: string, d = us) => classify(n, d).class;

describe('calls: destination classification', () => {
  it('international prefixes 011, 00 and + give an international call with its country', () => {
    const c = classify('00442079460000', us);
    assert.equal(c.class, 'international');
    assert.equal(c.country, 'GB');
    assert.equal(c.e164, '+442079460000');
    assert.equal(cls('011442079460000'), 'international');
    assert.equal(cls('+442079460000'), 'international');
  });
  it('satellite and other high-risk ranges are premium (the fixture +882)', () => {
    const c = classify('011882161234567', us);
    assert.equal(c.class, 'premium');
    assert.match(c.why, /\+882/);
    assert.equal(cls('+881612345678'), 'premium');
    assert.equal(cls('00870772123456'), 'premium');
  });
  it('libphonenumber premium-rate and shared-cost numbers are premium, national or abroad', () => {
    assert.equal(cls('19005551234'), 'premium');
    assert.equal(cls('011448456789012'), 'premium');
    assert.equal(cls('09065123456', gb), 'premium');
  });
  it('national format, local and extensions', () => {
    assert.equal(cls('12125550123'), 'national');
    assert.equal(cls('2125550123'), 'local');
    assert.equal(cls('1001'), 'internal');
    assert.equal(cls('*97'), 'internal');
    assert.equal(cls('02079460000', gb), 'national');
    assert.equal(cls('+12125550123'), 'national', 'international format to the home country');
  });
  it('emergency numbers are emergency, also behind an outside-line prefix', () => {
    for (const n of ['911', '112', '999', '000']) assert.equal(cls(n), 'emergency', n);
    const d = resolveTollFraud({ dialing: { stripPrefixes: ['9'] } }, []).dialing;
    assert.equal(classify('9911', d).class, 'emergency');
    assert.equal(classify('9011882161234567', d).class, 'premium');
  });
  it('per-country deny and allow lists', () => {
    assert.equal(cls('005372123456', gb), 'premium', 'Cuba denied');
    const allow = resolveTollFraud({ dialing: { countries: { allow: ['GB', 'IE'] } } }, []).dialing;
    assert.equal(classify('00442079460000', allow).class, 'international');
    assert.equal(classify('0033142685300', allow).class, 'premium');
  });
  it('bad input is invalid and its text is never returned', () => {
    for (const bad of ['1234&Local/5555@from-internal', '00abc', '0044+2079', '++44', '+', '0'.repeat(200), '12\u001b[2J', '0044207946#000', '00', '']) {
      const c = classify(bad, us);
      assert.equal(c.class, 'invalid', JSON.stringify(bad));
      assert.equal(c.number, '');
      assert.ok(!c.why.includes('Local') && !c.why.includes('\u001b'));
    }
  });
});
