// Hostile text in attacker-controlled fields (AccountID from the SIP From
// header, channel names): ANSI escapes, NULs, 64 KiB strings, `/regex/`
// shapes. They must come out escaped in the console and the log, and never
// reach an AMI action or a firewall command.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import type { Decision } from '../../../src/domain/types.ts';
import { AmiFramer } from '../../../src/sources/ami/framer.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { ViewModel } from '../../../src/console/view-model.ts';
import { renderScreen } from '../../../src/console/render.ts';
import { logDecision } from '../../../src/service/decision-log.ts';
import { AsteriskResponder } from '../../../src/respond/asterisk-ami.ts';
import { NftablesResponder } from '../../../src/respond/nftables.ts';
import { NOW, ban, fakeExec } from '../respond/helpers.ts';

const BIG = 'A'.repeat(64 * 1024);
const HOSTILE = ['\x1b[2J\x1b[31mPWNED\x1b[0m', 'adm\x00in', `x${BIG}`, '/.*/', '/PJSIP\\/.*/', '\x1b]0;owned\x07', '\u202eevil', '1001\r\nAction: Originate'];
// Each marker is something that must never appear raw in an output.
const RAW_MARKERS = ['\x1b', '\x00', '\x07', '\u202e', BIG.slice(0, 300)];

function frame(ev: string, fields: Record<string, string>): string {
  return `Event: ${ev}\r\nPrivilege: security,all\r\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
}

/** A stream where hostile accounts get sources banned and get sprayed (block-account). */
function hostileStream(): Buffer {
  let s = '';
  let n = 0;
  const tv = () => `2026-11-23T16:00:${String(10 + (n % 40)).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}+0000`;
  HOSTILE.forEach((acc, h) => {
    for (let src = 0; src < 3; src++) {
      for (let k = 0; k < 6; k++) {
        n++;
        // CR/LF inside a value cannot survive AMI framing (Asterisk escapes them); strip here like Asterisk would.
        const account = acc.replace(/\r\n/g, ' ');
        s += frame('ChallengeResponseFailed', { EventTV: tv(), Severity: 'Error', Service: 'PJSIP', AccountID: account, SessionID: `s${n}`, LocalAddress: 'IPV4/UDP/198.18.0.1/5060', RemoteAddress: `IPV4/UDP/198.18.${10 + h}.${src + 2}/5060`, Response: `r${n}` });
      }
    }
    s += frame('InvalidAccountID', { EventTV: tv(), Service: 'PJSIP', AccountID: acc.replace(/\r\n/g, ' '), SessionID: `i${h}`, RemoteAddress: `IPV4/UDP/198.18.40.${h + 2}/5060` });
  });
  return Buffer.from(s, 'utf8');
}

function run() {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  const pipeline = new Pipeline(config, { dryRun: false });
  const vm = new ViewModel(pipeline);
  const decisions: Decision[] = [];
  pipeline.decisions$.subscribe((d) => decisions.push(d));
  for (const f of new AmiFramer({ expectGreeting: false, maxFrameBytes: 256 * 1024 }).push(hostileStream())) pipeline.push(f);
  return { pipeline, vm, decisions };
}

describe('resilience: hostile text in AccountID / channel names', () => {
  it('the stream really produces bans and account decisions carrying the hostile text', () => {
    const { decisions } = run();
    assert.ok(decisions.some((d) => d.action === 'ban-ip'));
    assert.ok(decisions.some((d) => d.target.account !== undefined), 'a spraying decision on a hostile account');
    assert.ok(decisions.some((d) => d.evidence.sampleAccounts.some((a) => a.includes('\x1b'))), 'evidence holds the raw text');
  });

  it('console: renderScreen prints it escaped (no ESC, NUL, BEL, bidi; 64 KiB cut)', () => {
    const { vm } = run();
    const screen = renderScreen(vm, NOW, 120, false);
    for (const m of RAW_MARKERS) assert.ok(!screen.includes(m), `raw ${JSON.stringify(m.slice(0, 10))} on screen`);
    assert.ok(screen.includes('\\x1b'), 'shown escaped');
    assert.ok(screen.length < 20_000, `screen is ${screen.length} chars`);
    // With colour on, the only ESC sequences are the renderer's own SGR codes.
    const colored = renderScreen(vm, NOW, 120, true);
    assert.ok(!/\x1b(?!\[(?:0|1|2|31|32|33)m)/.test(colored), 'no foreign escape sequence');
  });

  it('log: pino output of every decision has no raw control or bidi character and stays valid JSON', () => {
    const { decisions } = run();
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString('utf8');
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    for (const d of decisions) logDecision(logger, d);
    logger.flush?.();
    for (const m of ['\x1b', '\x00', '\x07']) assert.ok(!out.includes(m), `raw ${JSON.stringify(m)} in the log`);
    for (const line of out.trim().split('\n')) JSON.parse(line);
    assert.ok(out.length < decisions.length * 4096, 'no 64 KiB field in the log');
  });

  it('AMI: no action carries hostile text; unsafe accounts and /regex/ channels are refused', async () => {
    const { decisions } = run();
    const sent: Record<string, string>[] = [];
    const ami = { action: async (f: Record<string, string>) => (sent.push(f), { ok: true, response: { headers: [['Response', 'Success']] as Array<[string, string]> } }) };
    const r = new AsteriskResponder({ ami, logger: pino({ level: 'silent' }), family: 'sipwarden', maintenance: true, now: () => NOW });
    for (const d of decisions) if (r.handles(d)) await r.apply(d).catch(() => {});
    const hostileChannels = ['/.*/', '/PJSIP\\/.*/', 'PJSIP/\x1b[2J-1', `PJSIP/${BIG}`, 'PJSIP/10\x0001-0001'];
    for (const channel of hostileChannels) {
      const d: Decision = { ...ban('198.18.9.9'), action: 'hangup', target: { channel }, durationMs: 0 };
      await r.apply(d).catch(() => {});
    }
    for (const account of HOSTILE) {
      await r.apply({ ...ban('198.18.9.9'), action: 'block-account', target: { account } }).catch(() => {});
    }
    const text = JSON.stringify(sent);
    for (const f of sent) for (const v of Object.values(f)) {
      assert.ok(!/[\x00-\x1f\u202e]/.test(v), `control char in AMI ${JSON.stringify(f).slice(0, 120)}`);
      assert.ok(v.length < 300, 'no long value');
      assert.ok(!v.startsWith('/'), `regex-shaped value in ${JSON.stringify(f).slice(0, 120)}`);
    }
    assert.ok(!text.includes('PWNED') && !text.includes('Originate'));
  });

  it('firewall: nft commands hold only addresses; hostile targets are refused before nft runs', async () => {
    const { decisions } = run();
    const f = fakeExec();
    const nft = new NftablesResponder({ exec: f.exec, strategy: 'oneshot', now: () => NOW, logger: pino({ level: 'silent' }), conntrack: false });
    await nft.init();
    for (const d of decisions) if (d.action === 'ban-ip') await nft.apply(d).catch(() => {});
    for (const ip of [...HOSTILE, '198.18.0.5; flush ruleset', '198.18.0.5 }', '::1/0']) await nft.apply(ban(ip)).catch(() => {});
    await nft.flush().catch(() => {});
    const all = f.calls.map((c) => `${c.args.join(' ')}\n${c.stdin ?? ''}`).join('\n');
    assert.ok(f.calls.length > 0);
    for (const m of [...RAW_MARKERS, 'PWNED', 'flush ruleset', '/.*/', 'Originate']) assert.ok(!all.includes(m), `${JSON.stringify(m.slice(0, 20))} reached nft`);
    for (const c of f.calls) for (const line of (c.stdin ?? '').split('\n')) if (line.includes('add element')) assert.match(line, /^add element inet sipwarden \w+ \{ [0-9a-f.:/]+ timeout \d+s \}$/);
  });
});
