import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { AmiFrame } from '../../../src/domain/types.ts';
import { AmiFramer as Framer, TextFrame, framesFromBuffer as framesOf, header, headerAll, type FramerError, type FramerOptions } from '../../../src/sources/ami/framer.ts';
import { ACCOUNT } from '../../../src/sources/ami/header-index.ts';

// Frames come out as TextFrames (headers built on first use); the tests compare them as plain frames.
const plain = (f: AmiFrame): AmiFrame => (f.body === undefined ? { headers: f.headers } : { headers: f.headers, body: f.body });
class AmiFramer extends Framer {
  override push(chunk: Buffer): AmiFrame[] {
    return super.push(chunk).map(plain);
  }
}
const framesFromBuffer = (buf: Buffer, options?: FramerOptions): AmiFrame[] => framesOf(buf, options).map(plain);

const FIXTURES = fileURLToPath(new URL('../../fixtures/ami/', import.meta.url));
const captures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.ami'))
  .sort()
  .map((name) => ({ name, bytes: readFileSync(FIXTURES + name) }));

interface Outcome {
  frames: AmiFrame[];
  greeting: string | undefined;
  stats: AmiFramer['stats'];
}

function feed(chunks: Buffer[], options: FramerOptions = {}): Outcome {
  const framer = new AmiFramer(options);
  const frames: AmiFrame[] = [];
  for (const c of chunks) frames.push(...framer.push(c));
  return { frames, greeting: framer.greeting, stats: { ...framer.stats } };
}

function split(buf: Buffer, at: number): Buffer[] {
  return [buf.subarray(0, at), buf.subarray(at)];
}

/** Tiny seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomChunks(buf: Buffer, maxSize: number, random: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; ) {
    const n = 1 + Math.floor(random() * maxSize);
    out.push(buf.subarray(o, o + n));
    o += n;
  }
  return out;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('AmiFramer', () => {
  describe('real captures', () => {
    for (const { name, bytes } of captures) {
      it(`${name}: parses the greeting and every blank-line-terminated frame`, () => {
        const whole = feed([bytes]);
        assert.equal(whole.greeting, 'Asterisk Call Manager/11.0.0');
        const blankLines = bytes.toString('latin1').split('\r\n\r\n').length - 1;
        assert.equal(whole.frames.length, blankLines);
        assert.equal(whole.stats.malformedLines, 0);
        assert.equal(whole.stats.oversize, 0);
        assert.equal(header(whole.frames[0]!, 'Response'), 'Success');
        for (const f of whole.frames) assert.ok(header(f, 'Event') ?? header(f, 'Response'), 'every frame is an event or a response');
      });

      it(`${name}: same frames when split into two chunks at EVERY byte offset`, function () {
        this.timeout(60000);
        // Framing is a pure function of the stream, but feeding a 150 kB
        // capture 150k times costs minutes. The framer keeps no state
        // across a completed frame (only counters), so each offset is
        // checked on a window of its frame and both neighbours, greeting
        // included when the window starts the stream; small captures are
        // also checked whole (see below) and AMI_EXHAUSTIVE=1 checks all.
        const text = bytes.toString('latin1');
        const bounds: number[] = [text.indexOf('\r\n') + 2];
        for (let t = text.indexOf('\r\n\r\n'); t >= 0; t = text.indexOf('\r\n\r\n', t + 4)) bounds.push(t + 4);
        const expected = feed([bytes]).frames;
        assert.equal(bounds.length - 1, expected.length);
        // Comparing JSON text is much cheaper than deepEqual; on a mismatch
        // deepEqual runs for a readable diff.
        const json = expected.map((f) => JSON.stringify(f));
        const framer = new AmiFramer(); // reset() per offset: only its counters carry over
        let j = 0; // frame holding byte `at`
        for (let at = 1; at < bytes.length; at++) {
          while (j < expected.length - 1 && at >= bounds[j + 1]!) j++;
          const first = Math.max(0, j - 1);
          const last = Math.min(expected.length - 1, j + 1);
          const start = first === 0 ? 0 : bounds[first]!;
          const window = bytes.subarray(start, bounds[last + 1]!);
          const rel = at - start;
          if (rel <= 0 || rel >= window.length) continue;
          framer.reset(start === 0);
          const got = [...framer.push(window.subarray(0, rel)), ...framer.push(window.subarray(rel))];
          if (got.map((f) => JSON.stringify(f)).join('\n') !== json.slice(first, last + 1).join('\n')) {
            assert.deepEqual(got, expected.slice(first, last + 1), `split at ${at}`);
          }
        }
      });

      it(`${name}: same frames when fed in random-sized chunks`, () => {
        const whole = feed([bytes]);
        const random = rng(name.length * 7919);
        for (const max of [1, 3, 7, 64, 1460, 65536]) {
          const got = feed(randomChunks(bytes, max, random));
          assert.deepEqual(got.frames, whole.frames, `chunks up to ${max}`);
          assert.equal(got.greeting, whole.greeting);
          assert.deepEqual(got.stats, whole.stats);
        }
      });
    }

    const exhaustive = process.env.AMI_EXHAUSTIVE === '1';
    for (const { name, bytes } of captures) {
      if (!exhaustive && bytes.length > 6000) continue;
      it(`${name}: whole stream split at every offset gives identical frames and stats`, function () {
        this.timeout(0);
        const whole = feed([bytes]);
        for (let at = 1; at < bytes.length; at++) {
          const got = feed(split(bytes, at));
          assert.deepEqual(got.frames, whole.frames, `split at ${at}`);
          assert.equal(got.greeting, whole.greeting);
          assert.deepEqual(got.stats, whole.stats);
        }
      });
    }

    it('frames are TextFrames: the text as received, headers on first use, plain JSON', () => {
      const [f] = framesOf(b('Event: X\r\nKey: v\r\nBare:\r\n\r\n'), { expectGreeting: false });
      assert.ok(f instanceof TextFrame);
      assert.equal(f.text, 'Event: X\r\nKey: v\r\nBare:');
      assert.deepEqual(JSON.parse(JSON.stringify(f)), { headers: [['Event', 'X'], ['Key', 'v'], ['Bare', '']] });
      assert.equal(header(f, 'key'), 'v');
    });
    it('frames of an ASCII chunk are read in place: spans in the chunk text, their own text only when asked', () => {
      const one = 'Event: InvalidAccountID\r\nAccountID: 1001\r\nRemoteAddress: IPV4/UDP/198.18.0.9/5060\r\n\r\n';
      const chunk = one + one.replace('1001', '1002') + 'Event: Partial\r\n';
      const frames = new Framer({ expectGreeting: false }).push(b(chunk));
      assert.equal(frames.length, 2);
      for (const [i, f] of frames.entries()) {
        assert.ok(f instanceof TextFrame && f.index !== undefined);
        // One text for the chunk, each frame a range of it.
        assert.equal(f.source, (frames[0] as TextFrame).source);
        assert.equal(f.source.slice(f.start, f.end + 4), i === 0 ? one : one.replace('1001', '1002'));
        assert.equal(f.text, f.source.slice(f.start, f.end));
        // The spans point into the chunk text: the AccountID value is at the span.
        const at = f.at + ACCOUNT;
        assert.equal(f.source.slice(f.index[at]!, f.index[at + 1]!), i === 0 ? '1001' : '1002');
      }
      // The chunk text goes on past the last whole frame (the partial one is kept as bytes).
      const last = frames[1] as TextFrame;
      assert.ok(last.end + 4 < last.source.length);
    });
    it('framesFromBuffer parses a whole capture', () => {
      const frames = framesFromBuffer(captures.find((c) => c.name === 'failed-acl.ami')!.bytes);
      const acl = frames.find((f) => header(f, 'Event') === 'FailedACL');
      assert.equal(header(acl!, 'ACLName'), 'not_match_endpoint_acl');
    });
  });

  describe('greeting', () => {
    it('exposes the greeting line and never merges it with the first frame', () => {
      const seen: string[] = [];
      const framer = new AmiFramer({ onGreeting: (g) => seen.push(g) });
      const frames = framer.push(b('Asterisk Call Manager/6.0.0\r\nResponse: Success\r\nMessage: Authentication accepted\r\n\r\n'));
      assert.deepEqual(seen, ['Asterisk Call Manager/6.0.0']);
      assert.equal(framer.greeting, 'Asterisk Call Manager/6.0.0');
      assert.deepEqual(frames, [{ headers: [['Response', 'Success'], ['Message', 'Authentication accepted']] }]);
    });

    it('finds a greeting fed one byte at a time', () => {
      const bytes = b('Asterisk Call Manager/6.0.0\r\nEvent: A\r\n\r\n');
      const got = feed([...bytes].map((x) => Buffer.from([x])));
      assert.equal(got.greeting, 'Asterisk Call Manager/6.0.0');
      assert.deepEqual(got.frames, [{ headers: [['Event', 'A']] }]);
    });

    it('treats a first line with `: ` as a frame (stream or replay without greeting)', () => {
      const got = feed([b('Event: A\r\nK: v\r\n\r\n')]);
      assert.equal(got.greeting, undefined);
      assert.deepEqual(got.frames, [{ headers: [['Event', 'A'], ['K', 'v']] }]);
    });

    it('reset() expects a new greeting (new connection)', () => {
      const framer = new AmiFramer();
      framer.push(b('Asterisk Call Manager/1.0.0\r\nEvent: half'));
      framer.reset();
      assert.equal(framer.bufferedBytes, 0);
      const frames = framer.push(b('Asterisk Call Manager/2.0.0\r\nEvent: B\r\n\r\n'));
      assert.equal(framer.greeting, 'Asterisk Call Manager/2.0.0');
      assert.deepEqual(frames, [{ headers: [['Event', 'B']] }]);
    });
  });

  describe('headers', () => {
    it('keeps order and repeated keys; header() is case-insensitive', () => {
      const [f] = framesFromBuffer(
        b('Event: VarSet\r\nChanVariable: a=1\r\nChanVariable: b=2\r\nActionID: x\r\n\r\n'),
        { expectGreeting: false },
      );
      assert.deepEqual(f!.headers, [
        ['Event', 'VarSet'],
        ['ChanVariable', 'a=1'],
        ['ChanVariable', 'b=2'],
        ['ActionID', 'x'],
      ]);
      assert.equal(header(f!, 'chanvariable'), 'a=1');
      assert.equal(header(f!, 'ACTIONID'), 'x');
      assert.equal(header(f!, 'Missing'), undefined);
      assert.deepEqual(headerAll(f!, 'ChanVariable'), ['a=1', 'b=2']);
    });

    it('keeps `: ` inside values and empty values', () => {
      const [f] = framesFromBuffer(b('Event: X\r\nMessage: a: b\r\nEmpty: \r\nBare:\r\n\r\n'), { expectGreeting: false });
      assert.deepEqual(f!.headers, [
        ['Event', 'X'],
        ['Message', 'a: b'],
        ['Empty', ''],
        ['Bare', ''],
      ]);
    });

    it('skips and counts a line without `: `, keeps the rest of the frame', () => {
      const errors: FramerError[] = [];
      const framer = new AmiFramer({ expectGreeting: false, onError: (e) => errors.push(e) });
      const frames = framer.push(b('Event: X\r\nthis is no header\r\n: novalue\r\nKey: v\r\n\r\n'));
      assert.deepEqual(frames, [{ headers: [['Event', 'X'], ['Key', 'v']] }]);
      assert.equal(framer.stats.malformedLines, 2);
      assert.deepEqual(errors.map((e) => e.reason), ['malformed-line', 'malformed-line']);
      assert.equal(errors[0]!.sample, 'this is no header');
    });

    it('splits lines on CRLF only: a bare LF stays inside its value (no header smuggling)', () => {
      const [f] = framesFromBuffer(b('Event: InvalidAccountID\r\nAccountID: a\nRemoteAddress: IPV4/UDP/1.2.3.4/5060\r\n\r\n'), {
        expectGreeting: false,
      });
      assert.equal(f!.headers.length, 2);
      assert.equal(header(f!, 'AccountID'), 'a\nRemoteAddress: IPV4/UDP/1.2.3.4/5060');
      assert.equal(header(f!, 'RemoteAddress'), undefined);
    });

    it('does not end a frame at a bare `\\n\\n` (Asterisk always sends CRLF)', () => {
      const frames = framesFromBuffer(b('Event: X\n\nEvent: Y\r\n\r\n'), { expectGreeting: false });
      assert.equal(frames.length, 1);
    });

    it('skips blank frames', () => {
      const framer = new AmiFramer({ expectGreeting: false });
      const frames = framer.push(b('\r\n\r\nEvent: X\r\n\r\n\r\n\r\n'));
      assert.deepEqual(frames, [{ headers: [['Event', 'X']] }]);
      assert.equal(framer.stats.emptyFrames, 2);
    });
  });

  describe('UTF-8', () => {
    const text = 'Event: Test\r\nAccountID: Zoë 😀 ünï\r\n\r\n';
    const bytes = b(text);

    it('decodes a multibyte character split across chunks at any offset', () => {
      for (let at = 1; at < bytes.length; at++) {
        const got = feed(split(bytes, at), { expectGreeting: false });
        assert.equal(header(got.frames[0]!, 'AccountID'), 'Zoë 😀 ünï', `split at ${at}`);
        assert.equal(got.stats.invalidUtf8, 0);
      }
    });

    it('does not throw on invalid UTF-8: replacement char, counted', () => {
      const errors: FramerError[] = [];
      const framer = new AmiFramer({ expectGreeting: false, onError: (e) => errors.push(e) });
      const frames = framer.push(Buffer.concat([b('Event: X\r\nAccountID: a'), Buffer.from([0xff, 0xfe, 0xc3]), b('z\r\n\r\n')]));
      assert.equal(frames.length, 1);
      assert.match(header(frames[0]!, 'AccountID')!, /^a\uFFFD+z$/);
      assert.equal(framer.stats.invalidUtf8, 1);
      assert.equal(errors[0]!.reason, 'invalid-utf8');
    });

    it('does not count a genuine U+FFFD as invalid', () => {
      const framer = new AmiFramer({ expectGreeting: false });
      framer.push(b('Event: X\r\nK: \uFFFD\r\n\r\n'));
      assert.equal(framer.stats.invalidUtf8, 0);
    });
  });

  describe('command output', () => {
    // Asterisk <= 13: raw output lines, ended by --END COMMAND--. The output
    // may hold a blank line, which must not end the frame.
    const old =
      'Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n' +
      'Channel   Location\nUptime: 5\r\n\r\n3 active calls\n--END COMMAND--\r\n\r\n' +
      'Event: After\r\n\r\n';

    it('puts old `Response: Follows` output in body, ends at --END COMMAND--', () => {
      const frames = framesFromBuffer(b(old), { expectGreeting: false });
      assert.equal(frames.length, 2);
      assert.deepEqual(frames[0], {
        headers: [
          ['Response', 'Follows'],
          ['Privilege', 'Command'],
          ['ActionID', '7'],
        ],
        body: ['Channel   Location', 'Uptime: 5', '', '3 active calls'],
      });
      assert.deepEqual(frames[1], { headers: [['Event', 'After']] });
    });

    it('handles the Follows frame split at every offset', () => {
      const bytes = b(old);
      const whole = feed([bytes], { expectGreeting: false });
      for (let at = 1; at < bytes.length; at++) {
        assert.deepEqual(feed(split(bytes, at), { expectGreeting: false }).frames, whole.frames, `split at ${at}`);
      }
    });

    it('keeps Asterisk 22 `Output:` lines as repeated headers, no body', () => {
      const [f] = framesFromBuffer(
        b('Response: Success\r\nActionID: 8\r\nMessage: Command output follows\r\nOutput: Name/username\r\nOutput: =====\r\nOutput: \r\n\r\n'),
        { expectGreeting: false },
      );
      assert.equal(f!.body, undefined);
      assert.deepEqual(headerAll(f!, 'Output'), ['Name/username', '=====', '']);
    });
  });

  describe('size cap', () => {
    const big = (n: number): string => 'Event: Big\r\nData: ' + 'x'.repeat(n) + '\r\n\r\n';

    it('drops an oversize frame, reports it, resyncs at the next frame', () => {
      const errors: FramerError[] = [];
      const stream = b(big(1000) + 'Event: Ok\r\n\r\n');
      const framer = new AmiFramer({ expectGreeting: false, maxFrameBytes: 256, onError: (e) => errors.push(e) });
      const frames = framer.push(stream);
      assert.deepEqual(frames, [{ headers: [['Event', 'Ok']] }]);
      assert.equal(framer.stats.oversize, 1);
      assert.equal(framer.stats.discardedBytes, big(1000).length);
      assert.deepEqual(errors, [{ reason: 'oversize', bytes: big(1000).length }]);
      for (let at = 1; at < stream.length; at++) {
        const got = feed(split(stream, at), { expectGreeting: false, maxFrameBytes: 256 });
        assert.deepEqual(got.frames, frames, `split at ${at}`);
        assert.deepEqual(got.stats, framer.stats);
      }
    });

    it('keeps a frame exactly at the cap', () => {
      const frame = big(0);
      const got = feed([b(frame)], { expectGreeting: false, maxFrameBytes: Buffer.byteLength(frame) });
      assert.equal(got.frames.length, 1);
      assert.equal(feed([b(frame)], { expectGreeting: false, maxFrameBytes: Buffer.byteLength(frame) - 1 }).frames.length, 0);
    });

    it('stays memory-bounded on an endless line without CRLF', () => {
      const max = 1024;
      const framer = new AmiFramer({ expectGreeting: false, maxFrameBytes: max });
      const junk = Buffer.alloc(4096, 0x41);
      let peak = 0;
      for (let i = 0; i < 2560; i++) {
        // 10 MiB
        framer.push(junk);
        peak = Math.max(peak, framer.bufferedBytes);
      }
      assert.ok(peak <= max + 3, `peak buffered ${peak}`);
      assert.ok(framer.bufferedBytes <= 3);
      // Terminator split over three chunks, then a good frame.
      assert.deepEqual(framer.push(b('\r')), []);
      assert.deepEqual(framer.push(b('\n\r')), []);
      const frames = framer.push(b('\nEvent: Ok\r\n\r\n'));
      assert.deepEqual(frames, [{ headers: [['Event', 'Ok']] }]);
      assert.equal(framer.stats.oversize, 1);
      assert.equal(framer.stats.discardedBytes, 2560 * 4096 + 4);
    });

    it('bounds a Follows frame that never sends --END COMMAND--', () => {
      const stream = b('Response: Follows\r\n' + 'line\r\n\r\n'.repeat(100) + 'Event: Ok\r\n\r\n'.repeat(3));
      const whole = feed([stream], { expectGreeting: false, maxFrameBytes: 256 });
      assert.equal(whole.stats.oversize, 1);
      for (let at = 1; at < stream.length; at += 7) {
        const got = feed(split(stream, at), { expectGreeting: false, maxFrameBytes: 256 });
        assert.deepEqual(got.frames, whole.frames, `split at ${at}`);
        assert.deepEqual(got.stats, whole.stats);
      }
    });
  });

  describe('fuzz (fast-check)', () => {
    const corpus = Buffer.concat(captures.map((c) => c.bytes));
    const special = [0x0d, 0x0a, 0x3a, 0x20, 0x00, 0x1b, 0xff, 0xc3, 0xf0];

    const mutatedStream = fc
      .record({
        start: fc.nat({ max: corpus.length - 1 }),
        length: fc.integer({ min: 0, max: 3000 }),
        edits: fc.array(fc.record({ at: fc.nat(), byte: fc.oneof(fc.constantFrom(...special), fc.nat({ max: 255 })) }), {
          maxLength: 40,
        }),
        prefix: fc.constantFrom('', 'Asterisk Call Manager/11.0.0\r\n', 'Response: Follows\r\n', '\r\n\r\n'),
      })
      .map(({ start, length, edits, prefix }) => {
        const bytes = Buffer.concat([b(prefix), corpus.subarray(start, start + length)]);
        for (const e of edits) if (bytes.length > 0) bytes[e.at % bytes.length] = e.byte;
        return bytes;
      });

    it('never throws, stays bounded, and chunking never changes the frames', () => {
      fc.assert(
        fc.property(
          mutatedStream,
          fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 20 }),
          fc.constantFrom(64, 200, 1024, 65536),
          (bytes, sizes, max) => {
            const whole = feed([bytes], { maxFrameBytes: max });
            const framer = new AmiFramer({ maxFrameBytes: max });
            const frames: AmiFrame[] = [];
            let o = 0;
            for (let i = 0; o < bytes.length; i++) {
              const n = sizes[i % sizes.length]!;
              frames.push(...framer.push(bytes.subarray(o, o + n)));
              assert.ok(framer.bufferedBytes <= max + 3);
              o += n;
            }
            assert.deepEqual(frames, whole.frames);
            assert.deepEqual(framer.stats, whole.stats);
            assert.equal(framer.greeting, whole.greeting);
          },
        ),
        { numRuns: 200, seed: 42 },
      );
    });

    it('never throws on arbitrary bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), (arr, chunk) => {
          const framer = new AmiFramer({ maxFrameBytes: 128 });
          const buf = Buffer.from(arr);
          for (let o = 0; o < buf.length; o += chunk) framer.push(buf.subarray(o, o + chunk));
          assert.ok(framer.bufferedBytes <= 131);
        }),
        { numRuns: 200, seed: 7 },
      );
    });
  });
});
