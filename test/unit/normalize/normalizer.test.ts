import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAmiAddress } from '../../../src/normalize/remote-address.ts';
import { detach, detachAt, detachBytes } from '../../../src/domain/detach.ts';
import { parseEventTV } from '../../../src/normalize/event-time.ts';
import { Normalizer, type NormalizeIssue } from '../../../src/normalize/normalizer.ts';
import { AmiFramer } from '../../../src/sources/ami/framer.ts';
import { fixtureEvents, fixtureFrames } from '../../helpers/fixtures.ts';
import type { AmiFrame, SecurityEvent } from '../../../src/domain/types.ts';
import { latin1View } from '../../helpers/bytes.ts';

const frame = (pairs: Record<string, string>): AmiFrame => ({ headers: Object.entries(pairs) });
const crf = (session: string, response: string, tv = '2026-11-22T11:17:53.844+0000', ip = '198.18.0.11') =>
  frame({ Event: 'ChallengeResponseFailed', EventTV: tv, Service: 'PJSIP', AccountID: '1001', SessionID: session, RemoteAddress: `IPV4/UDP/${ip}/5060`, Response: response });

describe('parseAmiAddress', () => {
  it('parses IPv4 with each transport', () => {
    assert.deepEqual(parseAmiAddress('IPV4/UDP/198.18.0.11/5060'), { family: 4, transport: 'UDP', ip: '198.18.0.11', port: 5060 });
    assert.equal(parseAmiAddress('IPV4/WSS/198.18.0.11/8089')?.transport, 'WSS');
  });
  it('parses IPv6 without brackets, taking the port after the last slash', () => {
    assert.deepEqual(parseAmiAddress('IPV6/UDP/fd00:5157::11/5060'), { family: 6, transport: 'UDP', ip: 'fd00:5157::11', port: 5060 });
  });
  it('folds IPv4-mapped IPv6 to the IPv4 host', () => {
    assert.equal(parseAmiAddress('IPV6/TCP/::ffff:198.18.0.11/5060')?.ip, '198.18.0.11');
  });
  it('refuses what does not parse', () => {
    for (const bad of ['', 'garbage', 'IPV4/UDP/198.18.0.999/5060', 'IPV4/FOO/198.18.0.1/5060', 'IPV4/UDP/198.18.0.1/99999', 'IPV6/UDP/198.18.0.1/5060', 'IPV4/UDP/1.2.3.4; rm -rf //5060', `IPV4/UDP/${'9'.repeat(5000)}/1`])
      assert.equal(parseAmiAddress(bad), null, bad);
  });
});

describe('detach / detachAt / detachBytes', () => {
  it('copy exactly the characters of the span, at every length (the fromCharCode cases 13-16 included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60, size: 'max' }), fc.nat(60), fc.nat(60), (text, x, y) => {
        const start = Math.min(x, y, text.length);
        const end = Math.min(Math.max(x, y), text.length);
        const want = text.slice(start, end);
        assert.equal(detachAt(text, start, end), want);
        assert.equal(detach(want), want);
      }),
      { numRuns: 2000 },
    );
    const t = 'RemoteAddress: IPV4/UDP/198.18.144.182/5060';
    for (let n = 0; n <= 24; n++) assert.equal(detachAt(t, 9, 9 + n), t.slice(9, 9 + n), `length ${n}`);
  });

  it('detachBytes copies the same span from the ASCII chunk the text was read from, at every length', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40, size: 'max' }), fc.nat(8), (text, delta) => {
        // The text sits `delta` bytes into its chunk; every span of it is copied.
        const b = latin1View('#'.repeat(delta) + text);
        for (let start = 0; start <= text.length; start++) {
          for (let end = start; end <= text.length; end++) assert.equal(detachBytes(b, start + delta, end + delta, text, delta), text.slice(start, end));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseEventTV', () => {
  it('reads the +0000 offset form with milliseconds', () => {
    assert.equal(parseEventTV('2026-11-22T11:17:53.844+0000'), Date.UTC(2026, 10, 22, 11, 17, 53, 844));
    assert.equal(parseEventTV('2026-11-22T12:17:53.844+0100'), Date.UTC(2026, 10, 22, 11, 17, 53, 844));
    assert.ok(Number.isNaN(parseEventTV('yesterday')));
  });
});

describe('Normalizer', () => {
  it('counts every svcrack guess: 150 attempts under one SessionID', () => {
    const evs = fixtureEvents('bruteforce-svcrack.ami').filter((e): e is SecurityEvent => e.kind === 'security' && e.type === 'ChallengeResponseFailed');
    assert.equal(evs.length, 150);
    assert.equal(new Set(evs.map((e) => e.sessionId)).size, 1, 'the capture uses one Call-ID');
    assert.equal(evs.filter((e) => e.attempt).length, 150);
  });
  it('folds UDP retransmits: failed-acl.ami is 6 attempts in 60 frames', () => {
    const evs = fixtureEvents('failed-acl.ami').filter((e): e is SecurityEvent => e.kind === 'security' && (e.type === 'FailedACL' || e.type === 'ChallengeResponseFailed'));
    assert.equal(evs.length, 60);
    assert.equal(evs.filter((e) => e.attempt).length, 6);
  });
  it('counts every AMI failure: SessionID is a reused pointer there', () => {
    const evs = fixtureEvents('ami-login-bruteforce.ami').filter((e): e is SecurityEvent => e.kind === 'security' && e.service === 'AMI' && e.type !== 'SuccessfulAuth');
    assert.equal(evs.length, 15);
    assert.equal(evs.filter((e) => e.attempt).length, 15);
  });
  it('keys InvalidAccountID on (SessionID, AccountID): one Call-ID, many accounts, many attempts', () => {
    const n = new Normalizer();
    const mk = (acc: string) => frame({ Event: 'InvalidAccountID', EventTV: '2026-11-22T11:17:57.316+0000', Service: 'PJSIP', AccountID: acc, SessionID: 'same', RemoteAddress: 'IPV4/UDP/198.18.0.12/5060' });
    const out = ['100', '101', '101', '102'].map((a) => n.normalize(mk(a)) as SecurityEvent);
    assert.deepEqual(out.map((e) => e.attempt), [true, true, false, true]);
  });
  it('a retransmit is the same (SessionID, Response); a new digest is a new attempt', () => {
    const n = new Normalizer();
    const a = n.normalize(crf('c1', 'aaa')) as SecurityEvent;
    const b = n.normalize(crf('c1', 'aaa')) as SecurityEvent;
    const c = n.normalize(crf('c1', 'bbb')) as SecurityEvent;
    assert.deepEqual([a.attempt, b.attempt, c.attempt], [true, false, true]);
    assert.equal(n.counters.retransmits, 1);
  });
  it('read from the bytes of a chunk, the same SessionID and Response from another source is another attempt', () => {
    // The attempt key hashes the source address from the chunk: every character of it.
    const line = (ip: string, port: number) =>
      `Event: ChallengeResponseFailed\r\nPrivilege: security,all\r\nEventTV: 2026-11-22T11:17:57.316+0000\r\nSeverity: Error\r\nService: PJSIP\r\nEventVersion: 1\r\nAccountID: 1001\r\nSessionID: same-call\r\nLocalAddress: IPV4/UDP/198.18.0.1/5060\r\nRemoteAddress: IPV4/${ip}/${port}\r\nChallenge: n\r\nResponse: r\r\nExpectedResponse: \r\n\r\n`;
    const sources: Array<[string, number]> = [['UDP/198.18.0.11', 5060], ['UDP/198.18.0.12', 5060], ['UDP/198.18.0.12', 5061], ['TCP/198.18.0.12', 5060], ['UDP/198.18.0.12', 5060], ['UDP/198.18.10.2', 5060], ['UDP/198.18.10.3', 5060]];
    const frames = new AmiFramer({ expectGreeting: false }).push(Buffer.from(sources.map(([ip, port]) => line(ip, port)).join(''), 'latin1'));
    const n = new Normalizer();
    // Port and transport are not part of an attempt: a source retrying over another is a retransmit.
    assert.deepEqual(frames.map((f) => (n.normalize(f) as SecurityEvent).attempt), [true, true, false, false, false, true, true]);
  });
  it('read from the framer index, SessionID and Response come from the chunk when asked, after later frames too', () => {
    const text = (i: number, extra = '') =>
      `Event: ${i % 2 ? 'ChallengeSent' : 'InvalidPassword'}\r\nEventTV: 2026-11-22T11:17:57.316+0000\r\nService: PJSIP\r\nAccountID: 100${i}\r\nSessionID: call-${i}-${'x'.repeat(20)}\r\nRemoteAddress: IPV4/UDP/198.18.0.${i}/5060\r\n${extra}Response: digest-${i}\r\n\r\n`;
    // The third frame is an IPv6 source: its attempt key comes from the strings, read at once.
    const chunk = text(0) + text(1, 'Challenge: c1\r\n') + text(2).replace('IPV4/UDP/198.18.0.2', 'IPV6/UDP/fd00::2');
    const n = new Normalizer();
    const evs = new AmiFramer({ expectGreeting: false }).push(Buffer.from(chunk, 'latin1')).map((f) => n.normalize(f) as SecurityEvent);
    // More frames through the framer and the normalizer before the first events are read.
    for (const f of new AmiFramer({ expectGreeting: false }).push(Buffer.from(text(3) + text(4), 'latin1'))) n.normalize(f);
    assert.deepEqual(evs.map((e) => e.sessionId), [0, 1, 2].map((i) => `call-${i}-${'x'.repeat(20)}`));
    assert.deepEqual(evs.map((e) => e.extra), [{ Response: 'digest-0' }, { Challenge: 'c1', Response: 'digest-1' }, { Response: 'digest-2' }]);
    // Read again after extra: the same value.
    assert.equal(evs[1]!.sessionId, `call-1-${'x'.repeat(20)}`);
  });
  it('gives an event without EventTV the time of the latest one seen', () => {
    const n = new Normalizer();
    n.normalize(crf('c1', 'x', '2026-11-22T11:17:53.844+0000'));
    const call = n.normalize(frame({ Event: 'Newchannel', Channel: 'PJSIP/1002-00000000', Uniqueid: '1.0', CallerIDNum: '1002', Exten: '011882161234567' }));
    assert.equal(call?.time, Date.UTC(2026, 10, 22, 11, 17, 53, 844));
  });
  it('normalizes the call events of the toll-fraud capture', () => {
    const calls = fixtureEvents('intl-call-burst.ami').filter((e) => e.kind === 'call');
    const started = calls.filter((e) => e.type === 'Newchannel');
    assert.equal(started.length, 21);
    assert.equal(started.filter((e) => e.exten === '011882161234567').length, 12);
    assert.ok(calls.every((e) => e.time > 0));
  });
  it('counts and skips a RemoteAddress that does not parse, and goes on', () => {
    const issues: NormalizeIssue[] = [];
    const n = new Normalizer((i) => issues.push(i));
    assert.equal(n.normalize(frame({ Event: 'InvalidAccountID', Service: 'PJSIP', AccountID: 'x', SessionID: 's', RemoteAddress: 'IPV4/UDP/not-an-ip/5060' })), null);
    assert.equal(issues[0]?.reason, 'bad-remote-address');
    assert.equal(n.normalize(crf('c9', 'z'))?.kind, 'security');
    assert.equal(n.counters.malformed, 1);
  });
  it('ignores unknown events and cuts attacker padding', () => {
    const n = new Normalizer();
    assert.equal(n.normalize(frame({ Event: 'TestEvent', Type: 'StateChange' })), null);
    const ev = n.normalize(frame({ Event: 'InvalidAccountID', Service: 'PJSIP', AccountID: 'A'.repeat(65536), SessionID: 's', RemoteAddress: 'IPV4/UDP/198.18.0.1/5060' })) as SecurityEvent;
    assert.equal(ev.account.length, 256);
    assert.equal(n.counters.ignored, 1);
  });
  it('covers every security event type in a capture or a constructed frame', () => {
    const seen = new Set(fixtureFrames('bruteforce-svcrack.ami').map((f) => f.headers[0]?.[1]));
    assert.ok(seen.has('ChallengeResponseFailed') && seen.has('ChallengeSent') && seen.has('SuccessfulAuth'));
    const n = new Normalizer();
    for (const t of ['SessionLimit', 'MemoryLimit', 'LoadAverageLimit', 'RequestNotSupported', 'RequestNotAllowed', 'AuthMethodNotAllowed', 'RequestBadFormat', 'UnexpectedAddress', 'InvalidTransport', 'InvalidPassword', 'FailedACL']) {
      const ev = n.normalize(frame({ Event: t, EventTV: '2026-11-22T11:17:53.844+0000', Service: 'PJSIP', AccountID: '1001', SessionID: `s-${t}`, RemoteAddress: 'IPV4/TCP/198.18.0.11/5060' })) as SecurityEvent;
      assert.equal(ev.type, t);
      assert.equal(ev.attempt, true, t);
    }
  });
});

describe('attempt keys', () => {
  it('hash the parts with their boundaries: no two distinct attempts of a real capture share a key', async () => {
    const { hashParts } = await import('../../../src/normalize/attempt-key.ts');
    assert.notEqual(hashParts('C', '198.18.0.1', '1', '23'), hashParts('C', '198.18.0.1', '12', '3'));
    const evs = fixtureEvents('bruteforce-svcrack.ami').filter((e): e is SecurityEvent => e.kind === 'security' && e.type === 'ChallengeResponseFailed');
    const keys = new Set(evs.map((e) => hashParts('C', e.remote.ip, e.sessionId, e.extra.Response ?? '')));
    assert.equal(keys.size, 150);
    const many = new Set<number>();
    for (let i = 0; i < 200_000; i++) many.add(hashParts('C', `198.18.${i >> 8 & 255}.${i & 255}`, String(i), i.toString(16)));
    assert.equal(many.size, 200_000, 'no collision in 200k keys');
  });
});
