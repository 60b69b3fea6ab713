// A short synthetic attack through a throwaway framer and pipeline at start-up.
// V8 compiles a function when it is first called, so the first ban of a
// process ran cold: in the lab, the frame that crossed the threshold took
// 1.9 ms to become a decision (0.2-0.4 ms for the frames before it), a third
// of the time svcrack needs for its next guess. The throwaway objects share
// their code with the real ones, and nothing of their state: the real
// pipeline's windows, policy and bans start empty.
import type { Config } from '../config/config.ts';
import { AmiFramer } from '../sources/ami/framer.ts';
import { Pipeline } from './pipeline.ts';

/** TEST-NET-3 (RFC 5737): never a real peer, and these events never leave this module. */
const NET = '203.0.113';

/** EventTV in Asterisk's form (2026-12-07T15:04:05.123+0000). */
const eventTV = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');

interface Shape {
  readonly event: string;
  readonly service: string;
  readonly host: number;
  readonly account: string;
}

function frame(s: Shape, n: number, tv: string): string {
  const lines = [
    `Event: ${s.event}`,
    'Privilege: security,all',
    `EventTV: ${tv}`,
    'Severity: Error',
    `Service: ${s.service}`,
    'EventVersion: 1',
    `AccountID: ${s.account}`,
    `SessionID: warm-up-${n}`,
    `LocalAddress: IPV4/UDP/${NET}.254/5060`,
    `RemoteAddress: IPV4/UDP/${NET}.${s.host}/5060`,
  ];
  if (s.event === 'ChallengeResponseFailed') lines.push('Challenge: 1795346273/af48221e7a4575bb275b29776c527ef9', `Response: ${n.toString(16).padStart(32, '0')}`, 'ExpectedResponse: ');
  return lines.join('\r\n') + '\r\n\r\n';
}

/** What each default rule kind sees in an attack: a burst, a scan, a spray across a /24, ACL and AMI failures. */
function attack(): Shape[] {
  const out: Shape[] = [];
  for (let i = 0; i < 12; i++) out.push({ event: 'ChallengeResponseFailed', service: 'PJSIP', host: 1, account: '1001' });
  for (let i = 0; i < 6; i++) out.push({ event: 'InvalidAccountID', service: 'PJSIP', host: 2, account: String(100 + i) });
  for (let h = 3; h < 8; h++) out.push({ event: 'ChallengeResponseFailed', service: 'PJSIP', host: h, account: '1002' });
  for (let h = 3; h < 8; h++) out.push({ event: 'InvalidPassword', service: 'PJSIP', host: h, account: '1003' });
  for (let i = 0; i < 4; i++) out.push({ event: 'FailedACL', service: 'PJSIP', host: 8, account: '1004' });
  for (let i = 0; i < 4; i++) out.push({ event: 'InvalidPassword', service: 'AMI', host: 9, account: 'admin' });
  return out;
}

export interface WarmUpResult {
  readonly frames: number;
  /** The decisions made, as `action:rule`, one of each. */
  readonly decided: string[];
  readonly ms: number;
}

/** Runs the attack `rounds` times through a framer and pipeline made for it, then drops them. */
export function warmUp(config: Config, rounds = 3, now: number = Date.now()): WarmUpResult {
  const t0 = performance.now();
  const shapes = attack();
  let frames = 0;
  const decided = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    const pipeline = new Pipeline(config, { dryRun: true });
    const sub = pipeline.decisions$.subscribe((d) => decided.add(`${d.action}:${d.rule}`));
    try {
      const framer = new AmiFramer({ expectGreeting: false });
      const tv = eventTV(now);
      // One chunk, as a socket read delivers it: the framer's text path, as for Asterisk's plain ASCII.
      const bytes = Buffer.from(shapes.map((s, i) => frame(s, r * shapes.length + i, tv)).join(''), 'latin1');
      for (const f of framer.push(bytes)) {
        pipeline.push(f);
        frames++;
      }
    } finally {
      sub.unsubscribe();
      pipeline.complete();
    }
  }
  return { frames, decided: [...decided].sort(), ms: Math.round((performance.now() - t0) * 100) / 100 };
}
