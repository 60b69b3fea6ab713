import assert from 'node:assert/strict';
import fc from 'fast-check';
import { prefixMask, unbannableReason, validateCidr, validateIp } from '../../../src/respond/ip-validate.ts';

describe('respond/ip-validate', () => {
  it('accepts canonical IPv4 and IPv6, canonicalising v6 (RFC 5952)', () => {
    assert.deepEqual(validateIp('198.18.0.11'), { ok: true, ip: '198.18.0.11', family: 4 });
    assert.deepEqual(validateIp('FD00:5157:0000:0000:0000:0000:0000:0001'), { ok: true, ip: 'fd00:5157::1', family: 6 });
    assert.deepEqual(validateIp('fd00:5157:0:0:1:0:0:1'), { ok: true, ip: 'fd00:5157::1:0:0:1', family: 6 });
    assert.deepEqual(validateIp('fd00:0:5157:1:2:3:4:5'), { ok: true, ip: 'fd00:0:5157:1:2:3:4:5', family: 6 });
    assert.deepEqual(validateIp('::'), { ok: true, ip: '::', family: 6 });
    assert.deepEqual(validateIp('64:ff9b::198.18.0.1'), { ok: true, ip: '64:ff9b::c612:1', family: 6 });
  });

  it('treats IPv4-mapped IPv6 as IPv4', () => {
    assert.deepEqual(validateIp('::ffff:198.18.0.11'), { ok: true, ip: '198.18.0.11', family: 4 });
    assert.deepEqual(validateIp('::FFFF:c612:000b'), { ok: true, ip: '198.18.0.11', family: 4 });
    assert.deepEqual(validateCidr('::ffff:198.18.4.0/120'), { ok: true, cidr: '198.18.4.0/24', network: '198.18.4.0', prefix: 24, family: 4 });
  });

  const hostile = [
    '1.2.3.4; rm -rf /',
    '1.2.3.4\n',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '{ 1.2.3.4 }',
    '1.2.3.4 }; flush ruleset; add element x y { 1.2.3.5',
    '\x1b[31m1.2.3.4\x1b[0m',
    '010.1.1.1',
    '1.2.3.04',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '0x7f.0.0.1',
    '2130706433',
    '[fd00::1]',
    'fe80::1%eth0',
    'fd00::1%25eth0',
    'fd00:::1',
    '1::2::3',
    'fd00:5157::12345',
    'localhost',
    'example.com',
    '',
    '١٢٣.1.1.1',
    '1.2.3.4\0',
    'x'.repeat(65536),
    '1.'.repeat(32768),
  ];
  for (const h of hostile) {
    it(`refuses ${JSON.stringify(h.slice(0, 40))}${h.length > 40 ? '…' : ''}`, () => {
      const r = validateIp(h);
      assert.equal(r.ok, false);
      assert.equal(validateCidr(h).ok, false);
    });
  }

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 1, {}, ['1.2.3.4']]) assert.equal(validateIp(v).ok, false);
  });

  it('validates CIDR bounds and masks host bits', () => {
    assert.deepEqual(validateCidr('198.18.1.7/24'), { ok: true, cidr: '198.18.1.0/24', network: '198.18.1.0', prefix: 24, family: 4 });
    assert.deepEqual(validateCidr('198.18.0.11'), { ok: true, cidr: '198.18.0.11/32', network: '198.18.0.11', prefix: 32, family: 4 });
    assert.deepEqual(validateCidr('fd00:5157::abcd/64'), { ok: true, cidr: 'fd00:5157::/64', network: 'fd00:5157::', prefix: 64, family: 6 });
    assert.deepEqual(validateCidr('fd00:5157::ffff/127'), { ok: true, cidr: 'fd00:5157::fffe/127', network: 'fd00:5157::fffe', prefix: 127, family: 6 });
    for (const bad of ['198.18.0.0/33', '198.18.0.0/-1', '198.18.0.0/024', '198.18.0.0/', '198.18.0.0/24/1', 'fd00::/129', '198.18.0.0/ 24', '::ffff:1.2.3.0/64']) {
      assert.equal(validateCidr(bad).ok, false, bad);
    }
  });

  it('knows unbannable ranges', () => {
    const c = (s: string) => {
      const r = validateCidr(s);
      assert.ok(r.ok);
      return unbannableReason(r);
    };
    assert.equal(c('198.18.0.11'), null);
    assert.equal(c('fd00:5157::1'), null);
    assert.notEqual(c('127.0.0.1'), null);
    assert.notEqual(c('0.0.0.0'), null);
    assert.notEqual(c('0.0.0.0/0'), null);
    assert.notEqual(c('224.0.0.1'), null);
    assert.notEqual(c('255.255.255.255'), null);
    assert.notEqual(c('::1'), null);
    assert.notEqual(c('::/0'), null);
    assert.notEqual(c('fe80::1'), null);
    assert.notEqual(c('ff02::1'), null);
  });

  it('builds masks', () => {
    assert.equal(prefixMask(4, 24), '255.255.255.0');
    assert.equal(prefixMask(4, 0), '0.0.0.0');
    assert.equal(prefixMask(6, 64), 'ffff:ffff:ffff:ffff:0:0:0:0');
    assert.equal(prefixMask(6, 65), 'ffff:ffff:ffff:ffff:8000:0:0:0');
  });

  it('property: canonical output is a fixed point and agrees with node:net', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (s) => {
        const r = validateIp(s);
        if (!r.ok) return; // fast-check also yields forms we refuse on purpose (e.g. zero-padded)
        const again = validateIp(r.ip);
        assert.deepEqual(again, r);
        assert.match(r.ip, /^[0-9a-f.:]+$/);
      }),
      { numRuns: 500 },
    );
  });

  it('property: arbitrary strings never pass unless they are plain literals', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const r = validateIp(s);
        if (r.ok) assert.match(s, /^[0-9A-Fa-f:.]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});
