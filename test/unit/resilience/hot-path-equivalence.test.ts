// The hot-path speed-ups (docs/performance.md) must not change a single
// result: each fast path is checked against the original code, kept here as
// the reference, on real captures and on fast-check inputs.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { parseEventTV } from '../../../src/normalize/event-time.ts';
import { parseAmiAddress } from '../../../src/normalize/remote-address.ts';
import { addSample, withSample } from '../../../src/detect/key-state.ts';
import { countThreshold } from '../../../src/detect/kinds/threshold.ts';
import { newKeyState } from '../../../src/detect/key-state.ts';
import type { DetectionRule } from '../../../src/detect/rule.ts';
import type { SecurityEvent } from '../../../src/domain/types.ts';

function refEventTV(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!m) return NaN;
  const frac = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
  const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
  const offset = (+m[9]! * 60 + +m[10]!) * 60_000;
  return m[8] === '+' ? utc - offset : utc + offset;
}

const TRANSPORTS: ReadonlySet<string> = new Set(['UDP', 'TCP', 'TLS', 'WS', 'WSS']);
function refAddress(text: string) {
  if (text.length > 80) return null;
  const first = text.indexOf('/');
  const second = first < 0 ? -1 : text.indexOf('/', first + 1);
  const last = text.lastIndexOf('/');
  if (first < 0 || second < 0 || last <= second) return null;
  const fam = text.slice(0, first);
  const transport = text.slice(first + 1, second).toUpperCase();
  const ip = text.slice(second + 1, last);
  const portText = text.slice(last + 1);
  if (!TRANSPORTS.has(transport)) return null;
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  const family = isIP(ip);
  if (family === 4 && fam === 'IPV4') return { family: 4, transport, ip, port };
  if (family === 6 && fam === 'IPV6') {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped?.[1] && isIP(mapped[1]) === 4) return { family: 4, transport, ip: mapped[1], port };
    return { family: 6, transport, ip: ip.toLowerCase(), port };
  }
  return null;
}

const d2 = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
const tvLike = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), d2, d2, d2, d2, d2, fc.integer({ min: 0, max: 999 }), fc.constantFrom('+', '-', 'x'), d2, d2, fc.constantFrom('.', ',', ''))
  .map(([y, mo, d, h, mi, s, ms, sign, oh, om, dot]) => `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}${dot}${dot ? String(ms).padStart(3, '0') : ''}${sign}${oh}${om}`);

describe('resilience: hot-path fast paths give the original results', () => {
  it('parseEventTV = the regex version (real forms, mutated forms, noise)', () => {
    for (const t of ['2026-11-22T11:17:53.844+0000', '2026-11-23T16:18:24.526+0000', '2026-11-23T16:18:24.526-0130', '2026-11-23T16:18:24+0000', '2026-11-23T16:18:24.5+00:00', '2026-13-45T25:61:61.999+9999', '0001-01-01T00:00:00.000+0000', 'x026-11-23T16:18:24.526+0000']) {
      assert.ok(Object.is(parseEventTV(t), refEventTV(t)), t);
    }
    fc.assert(
      fc.property(fc.oneof(tvLike, fc.string({ minLength: 28, maxLength: 28 }), tvLike.chain((t) => fc.tuple(fc.nat(t.length), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => t.slice(0, i) + c + t.slice(i + 1)))), (t) => {
        assert.ok(Object.is(parseEventTV(t), refEventTV(t)), t);
      }),
      { numRuns: 20_000, seed: 11 },
    );
  });

  it('parseAmiAddress = the original (IPv4 fast path, ports, IPv6, junk)', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '010', '255', '256', '', 'a', '1e1', ' 1'));
    const v4 = fc.tuple(octet, octet, octet, octet, fc.boolean()).map(([a, b, c, d, extra]) => `${a}.${b}.${c}.${d}${extra ? '.1' : ''}`);
    const addr = fc.tuple(fc.constantFrom('IPV4', 'IPV6', 'ipv4'), fc.constantFrom('UDP', 'udp', 'TCP', 'WSS', 'SCTP'), fc.oneof(v4, fc.constantFrom('fd00:5157::11', '::ffff:198.18.0.1', 'FD00::A', '::1', '1:2:3:4:5:6:7:8:9'), fc.string({ maxLength: 20 })), fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '0060', '99999', '5060 ', '+5', '1e3')));
    fc.assert(
      fc.property(fc.oneof(addr.map(([f, t, ip, p]) => `${f}/${t}/${ip}/${p}`), fc.string({ maxLength: 90 })), (text) => {
        assert.deepEqual(parseAmiAddress(text), refAddress(text), text);
      }),
      { numRuns: 20_000, seed: 12 },
    );
  });

  it('withSample = addSample; threshold counting unchanged with the in-place trim', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 30 }), (values) => {
        const a: string[] = [];
        let b: string[] = [];
        for (const v of values) {
          addSample(a, v);
          b = withSample(b, v);
        }
        assert.deepEqual(b, a);
      }),
      { numRuns: 2000 },
    );
    const rule = { id: 't', kind: 'threshold', match: {}, groupBy: 'ip', windowMs: 1000, threshold: 3, action: 'ban-ip' } as DetectionRule;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.boolean()), { maxLength: 40 }), (steps) => {
        const st = newKeyState(0);
        let t = 0;
        const ref: number[] = [];
        for (const [dt, attempt] of steps) {
          t += dt;
          const n = countThreshold(rule, st, { time: t, attempt } as SecurityEvent);
          if (attempt) {
            ref.push(t);
            while (ref.length && ref[0]! <= t - rule.windowMs) ref.shift();
            while (ref.length > rule.threshold) ref.shift();
          }
          assert.equal(n, ref.length);
          assert.deepEqual(st.stamps, ref);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
