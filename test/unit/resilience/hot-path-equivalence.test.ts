// The hot-path speed-ups (docs/performance.md) must not change a single
// result: each fast path is checked against the original code, kept here as
// the reference, on real captures and on fast-check inputs.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventTV, parseEventTVAt } from '../../../src/normalize/event-time.ts';
import { isoTime } from '../../../src/domain/iso-time.ts';
import { Normalizer } from '../../../src/normalize/normalizer.ts';
import { AmiFramer, TextFrame, parseHeaderLines, lineKind, EMPTY_VALUE, type FramerError } from '../../../src/sources/ami/framer.ts';
import { AmiFramer as ReferenceFramer } from '../../helpers/reference-framer.ts';
import { FIXTURES } from '../../helpers/fixtures.ts';
import { parseAmiAddress, parseIpv4AddressAt } from '../../../src/normalize/remote-address.ts';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { createRuleEngine } from '../../../src/detect/detector.ts';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { referenceAlerts } from '../../helpers/reference-detector.ts';
import { sec } from '../../helpers/fixtures.ts';
import type { DetectionRule } from '../../../src/detect/rule.ts';
import type { Alert, SecurityEvent } from '../../../src/domain/types.ts';
import { latin1View } from '../../helpers/bytes.ts';

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
      if (t.length !== 28) continue;
      // The in-place readers take every 28-char form themselves (NaN only where the regex says NaN).
      const text = `x${t}y`;
      assert.ok(Object.is(parseEventTVAt(text, 1, 29), refEventTV(t)), t);
      assert.ok(Object.is(parseEventTVAt(text, 1, 29, latin1View(`#${text}`), 1), refEventTV(t)), t);
    }
    fc.assert(
      fc.property(fc.oneof(tvLike, fc.string({ minLength: 28, maxLength: 28 }), tvLike.chain((t) => fc.tuple(fc.nat(t.length), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => t.slice(0, i) + c + t.slice(i + 1)))), (t) => {
        assert.ok(Object.is(parseEventTV(t), refEventTV(t)), t);
        // Read in place, from the text and from the bytes of an ASCII chunk holding it 2 bytes in.
        if (t.length !== 28) return;
        const text = `x${t}y`;
        const inText = parseEventTVAt(text, 1, 29);
        if (inText === inText) assert.ok(Object.is(inText, refEventTV(t)), t);
        if (!/^[\x00-\x7f]*$/.test(t)) return;
        const inBytes = parseEventTVAt(text, 1, 29, latin1View(`#${text}`), 1);
        if (inBytes === inBytes) assert.ok(Object.is(inBytes, refEventTV(t)), t);
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
        // The in-place IPv4 reader answers the same, or leaves it to parseAmiAddress.
        // Read from the bytes of a chunk (ASCII only: other chunks take the text path), the text 3 bytes in.
        if (!/^[\x00-\x7f]*$/.test(text)) return;
        const pad = `x${text}yy`;
        const inPlace = parseIpv4AddressAt(latin1View(`abc${pad}`), 4, 4 + text.length, pad, 3);
        if (inPlace !== undefined) assert.deepEqual(inPlace, refAddress(text), text);
      }),
      { numRuns: 20_000, seed: 12 },
    );
  });

  it('the rule engine (key tables, columns) gives the alerts of the per-rule Map engine', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH);
    const extra: DetectionRule[] = [
      { id: 'x-events', kind: 'threshold', match: { failures: true }, groupBy: 'ip', count: 'events', windowMs: 700, threshold: 3, action: 'ban-ip' },
      { id: 'x-one', kind: 'threshold', match: {}, groupBy: 'ip+account', windowMs: 300, threshold: 1, action: 'watch' },
      { id: 'x-acct', kind: 'distinct', distinct: 'account', match: { failures: true }, groupBy: 'subnet', prefixV4: 16, windowMs: 900, threshold: 2, action: 'ban-ip' },
      { id: 'x-ips', kind: 'distinct', distinct: 'ip', match: { services: ['AMI'] }, groupBy: 'account', windowMs: 500, threshold: 2, action: 'block-account' },
    ];
    const rules = [...config.rules, ...extra];
    // Mostly one source, so its windows reach their edges; a few others to share subnets and accounts.
    const ips = ['198.18.0.11', '198.18.0.11', '198.18.0.11', '198.18.0.12', '198.18.1.13', '198.19.7.1', 'fd00::1', 'fd00::2:1'];
    const types = ['ChallengeResponseFailed', 'ChallengeResponseFailed', 'InvalidAccountID', 'InvalidPassword', 'FailedACL', 'ChallengeSent', 'SuccessfulAuth'] as const;
    const step = fc.record({
      // Gaps that land exactly on window edges, short bursts, and long pauses.
      dt: fc.oneof(fc.constantFrom(0, 1, 300, 500, 700, 900, 10_000, 60_000, 300_000, 600_000), fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 700_000 })),
      ip: fc.constantFrom(...ips),
      account: fc.constantFrom('1001', '1002', '100', '101', '102', '103', ''),
      type: fc.constantFrom(...types),
      service: fc.constantFrom('PJSIP', 'PJSIP', 'AMI'),
      attempt: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        let t = Date.UTC(2026, 10, 23);
        const events = steps.map((s) => sec({ ip: s.ip, account: s.account, type: s.type, service: s.service, attempt: s.attempt, time: (t += s.dt) }));
        const got: Alert[] = [];
        const events$ = new Subject<SecurityEvent>();
        const sub = createRuleEngine(rules, { scheduler: new VirtualTimeScheduler() })(events$).subscribe((a) => got.push(a));
        for (const ev of events) events$.next(ev);
        sub.unsubscribe();
        assert.deepEqual(got, referenceAlerts(rules, events));
      }),
      { numRuns: 4000, seed: 5 },
    );
  });

  it('the normalizer reads the same events from frame text as from the header list', () => {
    // Lines of the real captures, shuffled into frames with hostile extras: repeated
    // keys, `Key:` lines, bare LFs, malformed lines, missing fields.
    const pool = new Set<string>();
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.ami'))) for (const l of readFileSync(join(FIXTURES, f), 'latin1').split('\r\n')) if (l) pool.add(l);
    const real = [...pool];
    const line = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...real) },
      { weight: 1, arbitrary: fc.constantFrom('Event:', 'Event: ', 'Event:x: y', 'EventTV:', 'AccountID: a\nFake: b', 'no separator', ': nokey', 'Response:', 'Service: AMI', 'RemoteAddress: IPV6/UDP/::ffff:198.18.0.9/5060') },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('AccountID', 'SessionID', 'Response', 'Challenge', 'X-Other', 'RemoteAddress'), fc.string({ maxLength: 20 })).map(([k, v]) => `${k}: ${v}`) },
    );
    const event = fc.constantFrom('Event: ChallengeResponseFailed', 'Event: InvalidAccountID', 'Event: InvalidPassword', 'Event: FailedACL', 'Event: SuccessfulAuth', 'Event: Hangup', 'Event: TestEvent');
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.array(line, { maxLength: 16 })), { minLength: 1, maxLength: 8 }), (frames) => {
        // One fixed clock: events without EventTV take the clock's time.
        const clock = () => Date.UTC(2026, 10, 23);
        const byText = new Normalizer(undefined, { clock });
        const byHeaders = new Normalizer(undefined, { clock });
        for (const [ev, lines] of frames) {
          const text = [ev, ...lines].join('\r\n');
          const a = byText.normalize(new TextFrame(text));
          const b = byHeaders.normalize({ headers: parseHeaderLines(text) });
          assert.deepEqual(a, b);
          // extra is read from the text on demand: compare it, and the JSON, explicitly.
          assert.deepEqual(a?.extra, b?.extra);
          assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
        }
        assert.deepEqual(byText.counters, byHeaders.counters);
      }),
      { numRuns: 3000, seed: 9 },
    );
  });

  it('the framer (one walk per frame over an ASCII chunk) = the byte-search framer: frames, stats, errors', () => {
    // Real captures cut, mutated and chunked: frames that cross chunks, oversize frames,
    // Follows frames, stray blank lines, bare CR/LF, malformed lines, non-ASCII bytes.
    const corpus = Buffer.concat(readdirSync(FIXTURES).filter((n) => n.endsWith('.ami')).map((n) => readFileSync(join(FIXTURES, n))));
    const special = [0x0d, 0x0a, 0x3a, 0x20, 0x00, 0xff, 0xc3];
    const insert = fc.constantFrom('\r\n', '\r\n\r\n', '\n', '\r', ': ', ':', 'Response: Follows\r\n', '--END COMMAND--\r\n\r\n', 'Event: ', 'AccountID:', 'RemoteAddress: ');
    const stream = fc
      .record({
        start: fc.nat({ max: corpus.length - 1 }),
        length: fc.integer({ min: 0, max: 6000 }),
        edits: fc.array(fc.record({ at: fc.nat(), byte: fc.oneof(fc.constantFrom(...special), fc.nat({ max: 127 })) }), { maxLength: 12 }),
        inserts: fc.array(fc.record({ at: fc.nat(), text: insert }), { maxLength: 6 }),
        prefix: fc.constantFrom('', 'Asterisk Call Manager/11.0.0\r\n', '\r\n', '\r\n\r\n'),
      })
      .map(({ start, length, edits, inserts, prefix }) => {
        let text = prefix + corpus.subarray(start, start + length).toString('latin1');
        for (const i of inserts) {
          const at = text.length === 0 ? 0 : i.at % text.length;
          text = text.slice(0, at) + i.text + text.slice(at);
        }
        const bytes = Buffer.from(text, 'latin1');
        for (const e of edits) if (bytes.length > 0) bytes[e.at % bytes.length] = e.byte;
        return bytes;
      });
    const run = (F: typeof AmiFramer | typeof ReferenceFramer, bytes: Buffer, sizes: number[], max: number) => {
      const errors: FramerError[] = [];
      const framer = new F({ maxFrameBytes: max, onError: (e) => errors.push(e) });
      const frames: unknown[] = [];
      for (let o = 0, i = 0; o < bytes.length; i++) {
        const n = sizes[i % sizes.length]!;
        for (const f of framer.push(bytes.subarray(o, o + n))) frames.push('text' in f ? { text: f.text, headers: f.headers } : f);
        o += n;
      }
      return { frames, errors, stats: framer.stats, greeting: framer.greeting, buffered: framer.bufferedBytes };
    };
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }), fc.constantFrom(64, 300, 1024, 65536), (bytes, sizes, max) => {
        assert.deepEqual(run(AmiFramer, bytes, sizes, max), run(ReferenceFramer, bytes, sizes, max));
      }),
      { numRuns: 1500, seed: 21 },
    );
  });

  it("the normalizer reads the same events from the framer's index as from the header list", () => {
    const pool = new Set<string>();
    for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.ami'))) for (const l of readFileSync(join(FIXTURES, f), 'latin1').split('\r\n')) if (l) pool.add(l);
    const line = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...pool) },
      { weight: 1, arbitrary: fc.constantFrom('Event:', 'Event: ', 'Event:x: y', 'EventTV:', 'EventTV:x', 'AccountID:', 'AccountID: a\nFake: b', 'AccountID:: x', 'Service:PJSIP', 'no separator', ': nokey', 'Response:', 'RemoteAddressX: IPV4/UDP/198.18.0.9/5060', 'RemoteAddress: IPV6/UDP/::ffff:198.18.0.9/5060') },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('AccountID', 'SessionID', 'Response', 'Challenge', 'Severity', 'Service', 'LocalAddress', 'RemoteAddress', 'ACLName', 'Even', 'EventT'), fc.string({ maxLength: 20 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')), fc.constantFrom(': ', ':', ':: ', ' : ')).map(([k, v, sep]) => `${k}${sep}${v}`) },
    );
    const event = fc.constantFrom('Event: ChallengeResponseFailed', 'Event: InvalidAccountID', 'Event: InvalidPassword', 'Event: FailedACL', 'Event: SuccessfulAuth', 'Event: Hangup', 'Event: TestEvent');
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.array(line, { maxLength: 16 })), { minLength: 1, maxLength: 8 }), fc.integer({ min: 16, max: 4096 }), (frames, chunk) => {
        const clock = () => Date.UTC(2026, 10, 23);
        const byIndex = new Normalizer(undefined, { clock });
        const byHeaders = new Normalizer(undefined, { clock });
        const bytes = Buffer.from(frames.map(([ev, lines]) => [ev, ...lines].join('\r\n') + '\r\n\r\n').join(''), 'latin1');
        const framer = new AmiFramer({ expectGreeting: false });
        let n = 0;
        for (let o = 0; o < bytes.length; o += chunk) {
          for (const f of framer.push(bytes.subarray(o, o + chunk))) {
            assert.ok(f instanceof TextFrame && f.index !== undefined);
            const a = byIndex.normalize(f);
            const b = byHeaders.normalize({ headers: parseHeaderLines(f.text) });
            assert.deepEqual(a, b);
            assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
            n++;
          }
        }
        assert.equal(n, framer.stats.frames);
        assert.deepEqual(byIndex.counters, byHeaders.counters);
      }),
      { numRuns: 2000, seed: 23 },
    );
  });

  it('isoTime = Date#toISOString (same second, second edges, fractions, years out of range)', () => {
    const near = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 1) + 5000 });
    // Seconds 1024 apart share a cache slot.
    const sharing = fc.tuple(near, fc.integer({ min: -3, max: 3 })).map(([t, k]) => t + k * 1_024_000);
    const any = fc.oneof(near, near, sharing, sharing, fc.double({ min: -1e15, max: 3e14, noNaN: true }), fc.constantFrom(0, 999, 1000, 253402300799999, 253402300800000, -1, 0.5, 1999.999));
    fc.assert(
      fc.property(fc.array(any, { maxLength: 30 }), (times) => {
        for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
      }),
      { numRuns: 3000, seed: 31 },
    );
  });

  it('lineKind = the original indexOf(\': \') split', () => {
    const ref = (text: string, pos: number, eol: number): number => {
      const sep = text.indexOf(': ', pos);
      if (sep > pos && sep < eol) return sep;
      if (eol - 1 > pos && text.charCodeAt(eol - 1) === 0x3a && text.indexOf(':', pos) === eol - 1) return EMPTY_VALUE;
      return -1;
    };
    const piece = fc.constantFrom(':', ': ', ' ', 'a', 'Key', '\r\n', '\n', '::', ' :');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), fc.nat(), (parts, p) => {
        const text = parts.join('');
        const pos = text.length === 0 ? 0 : p % text.length;
        // As the callers call it: the line ends at the next CRLF or at the end of the text.
        const crlf = text.indexOf('\r\n', pos);
        const eol = crlf < 0 ? text.length : crlf;
        assert.equal(lineKind(text, pos, eol), ref(text, pos, eol));
      }),
      { numRuns: 20_000, seed: 14 },
    );
  });
});
