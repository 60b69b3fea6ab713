// Fuzzing the whole ingest path (framer -> normalizer -> detectors -> policy)
// with random and mutated real captures: nothing may throw out of it, and
// memory stays bounded with oversize frames and endless lines without CRLF.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { AmiFramer } from '../../../src/sources/ami/framer.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { Normalizer } from '../../../src/normalize/normalizer.ts';

const DIR = new URL('../../fixtures/ami/', import.meta.url).pathname;
const captures = readdirSync(DIR)
  .filter((f) => f.endsWith('.ami'))
  .map((f) => readFileSync(join(DIR, f)));
const config = loadConfig(DEFAULT_CONFIG_PATH);

/** Feeds chunks through framer + pipeline; returns counters. Throws if anything escapes. */
function feed(chunks: Buffer[], maxFrameBytes = 4096) {
  const errors: unknown[] = [];
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const pipeline = new Pipeline(config, { scheduler, dryRun: true, onDetectorError: (e) => errors.push(e) });
  const framer = new AmiFramer({ maxFrameBytes });
  let maxBuffered = 0;
  for (const c of chunks) {
    for (const f of framer.push(c)) pipeline.push(f);
    maxBuffered = Math.max(maxBuffered, framer.bufferedBytes);
  }
  scheduler.maxFrames = 20 * 60_000;
  scheduler.flush();
  pipeline.complete();
  return { errors, maxBuffered, stats: framer.stats, counters: pipeline.normalizer.counters };
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of pts) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

const capture = fc.integer({ min: 0, max: captures.length - 1 }).map((i) => captures[i]!);
/** Byte-level mutations of a real capture: flips, deletions, insertions of hostile bytes. */
const mutated = fc
  .tuple(
    capture,
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom('flip', 'delete', 'insert', 'dup'), fc.constantFrom('\r\n', '\r\n\r\n', ': ', '\x00', '\x1b[2J', 'RemoteAddress: IPV4/UDP/', 'IPV6/UDP/::ffff:1.2.3.4/5060', 'Event: ChallengeResponseFailed\r\n', '\uFFFD', '\xff\xfe', 'Response: Follows\r\n', '--END COMMAND--', '9'.repeat(40))),
      { maxLength: 30 },
    ),
  )
  .map(([buf, muts]) => {
    let b = Buffer.from(buf);
    for (const [pos, kind, text] of muts) {
      const p = pos % (b.length + 1);
      if (kind === 'flip' && p < b.length) b[p] = b[p]! ^ (1 << (pos % 8));
      else if (kind === 'delete') b = Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + (pos % 64)))]);
      else if (kind === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from(text, 'latin1'), b.subarray(p)]);
      else b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + 400), b.subarray(p)]);
    }
    return b;
  });

describe('resilience: fuzzing framer + normalizer + pipeline', function () {
  this.timeout(120_000);

  it('mutated real captures, any chunking: no throw escapes, no detector error, buffer bounded', () => {
    fc.assert(
      fc.property(mutated, fc.array(fc.nat(), { maxLength: 20 }), (buf, cuts) => {
        const r = feed(split(buf, cuts));
        assert.deepEqual(r.errors, []);
        assert.ok(r.maxBuffered <= 4096 + 3, `framer held ${r.maxBuffered} bytes`);
      }),
      { numRuns: 150, seed: 20261123 },
    );
  });

  it('random bytes and random AMI-ish lines: no throw escapes', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.tuple(fc.constantFrom('Event', 'RemoteAddress', 'LocalAddress', 'EventTV', 'AccountID', 'SessionID', 'Service', 'Response', 'Channel', 'Uniqueid', 'Exten'), fc.string({ maxLength: 60 })).map(([k, v]) => `${k}: ${v}`),
      fc.constantFrom('Event: InvalidAccountID', 'Event: ChallengeResponseFailed', 'Event: Newchannel', 'Event: Hangup', 'Service: AMI', 'EventTV: 2026-11-23T16:18:24.526+0000', 'EventTV: 9999-99-99T99:99:99.999-9999'),
    );
    const stream = fc.array(fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\r\n') + '\r\n\r\n'), { maxLength: 40 }).map((fs) => Buffer.from(fs.join(''), 'utf8'));
    fc.assert(
      fc.property(fc.oneof(stream, fc.uint8Array({ maxLength: 5000 }).map((a) => Buffer.from(a))), fc.array(fc.nat(), { maxLength: 10 }), (buf, cuts) => {
        const r = feed(split(buf, cuts));
        assert.deepEqual(r.errors, []);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('the normalizer alone never throws on arbitrary header lists', () => {
    const n = new Normalizer();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('Event', 'RemoteAddress', 'LocalAddress', 'EventTV', 'AccountID', 'SessionID', 'Service', 'Response', 'Channel', 'Uniqueid', 'x'), fc.string({ maxLength: 100 })), { maxLength: 15 }), fc.constantFrom('InvalidAccountID', 'ChallengeResponseFailed', 'Newchannel', 'Hangup', 'Nope'), (headers, ev) => {
        n.normalize({ headers: [['Event', ev], ...headers] });
      }),
      { numRuns: 500, seed: 3 },
    );
  });

  it('frames over the cap: memory stays at cap + 3 bytes and the stream resyncs', () => {
    const cap = 1024;
    const framer = new AmiFramer({ maxFrameBytes: cap, expectGreeting: false });
    const pipeline = new Pipeline(config, { dryRun: true });
    const good = Buffer.from('Event: InvalidAccountID\r\nService: PJSIP\r\nAccountID: x\r\nSessionID: s1\r\nRemoteAddress: IPV4/UDP/198.18.5.5/5060\r\n\r\n');
    let max = 0;
    for (let round = 0; round < 50; round++) {
      const huge = Buffer.concat([Buffer.from('Event: InvalidAccountID\r\nAccountID: '), Buffer.alloc(200_000, 0x41), Buffer.from('\r\n\r\n')]);
      for (const c of split(Buffer.concat([huge, good]), [7, 1000, 65536, 150_000, 199_999])) {
        for (const f of framer.push(c)) pipeline.push(f);
        max = Math.max(max, framer.bufferedBytes);
      }
    }
    assert.ok(max <= cap + 3, `held ${max} bytes`);
    assert.equal(framer.stats.oversize, 50);
    assert.equal(pipeline.normalizer.counters.security, 50, 'every good frame after an oversize one still counts');
    pipeline.complete();
  });

  it('an endless line without CRLF (50 MB): memory bounded, later frames still parse', () => {
    const cap = 64 * 1024;
    const framer = new AmiFramer({ maxFrameBytes: cap, expectGreeting: false });
    const pipeline = new Pipeline(config, { dryRun: true });
    const junk = Buffer.alloc(65536, 0x42);
    const heap0 = process.memoryUsage().heapUsed;
    let max = 0;
    for (let i = 0; i < 800; i++) {
      framer.push(junk);
      max = Math.max(max, framer.bufferedBytes);
    }
    assert.ok(max <= cap + 3, `held ${max} bytes`);
    assert.ok(process.memoryUsage().heapUsed - heap0 < 32 * 1024 * 1024, 'heap did not grow with the line');
    for (const f of framer.push(Buffer.from('\r\n\r\nEvent: InvalidAccountID\r\nService: PJSIP\r\nAccountID: y\r\nSessionID: s2\r\nRemoteAddress: IPV4/UDP/198.18.5.6/5060\r\n\r\n'))) pipeline.push(f);
    assert.equal(pipeline.normalizer.counters.security, 1);
    assert.equal(framer.stats.oversize, 1);
    pipeline.complete();
  });
});
