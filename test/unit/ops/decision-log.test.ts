// The decision log line is an interface: journald queries, SIEM parsers and
// fail2ban-style watchers read these field names. Changing one breaks them.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { createReplay } from '../../../src/replay/replay.ts';
import { logDecision } from '../../../src/service/decision-log.ts';
import type { Decision } from '../../../src/domain/types.ts';

const fixture = (f: string) => fileURLToPath(new URL(`../../fixtures/ami/${f}`, import.meta.url));

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ base: { service: 'sipwarden' } }, stream), lines };
}

async function decisionsOf(file: string): Promise<Decision[]> {
  const out: Decision[] = [];
  const replay = createReplay(loadConfig(DEFAULT_CONFIG_PATH), { onDecision: (d) => out.push(d) });
  await replay.feedFile(fixture(file));
  replay.close();
  return out;
}

/** process.stdout.write, captured while fn runs. */
function stdoutOf(fn: () => void): string {
  const orig = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = orig;
  }
  return text;
}

describe('ops: decision log lines (src/service/decision-log.ts)', () => {
  it('a real svcrack ban logs one JSON line with the stable fields', async () => {
    const [d] = await decisionsOf('bruteforce-svcrack.ami');
    assert.ok(d, 'the capture must produce a decision');
    const { logger, lines } = capture();
    const out = stdoutOf(() => logDecision(logger, d));
    assert.equal(out, '', 'no fail2ban line unless asked');
    assert.equal(lines.length, 1);
    const j = JSON.parse(lines[0]!);
    assert.equal(j.event, 'decision');
    assert.equal(j.service, 'sipwarden');
    assert.equal(j.level, 30);
    assert.equal(j.action, 'ban-ip');
    assert.match(j.ip, /^198\.18\.0\.\d+$/);
    assert.equal(j.rule, 'sip-auth-burst');
    assert.equal(j.attempts, 5);
    assert.equal(typeof j.durationMs, 'number');
    assert.equal(j.expiry, new Date(d.expiresAt).toISOString());
    assert.equal(typeof j.msg, 'string');
    for (const k of ['id', 'action', 'ip', 'rule', 'attempts', 'events', 'first', 'last', 'offence', 'durationMs', 'expiry', 'dryRun']) assert.ok(k in j, `field ${k}`);
  });

  it('log.fail2banFormat adds the fail2ban "Ban <ip>" action line', async () => {
    const [d] = await decisionsOf('bruteforce-svcrack.ami');
    const { logger } = capture();
    const out = stdoutOf(() => logDecision(logger, d!, true));
    // fail2ban.log: "2024-01-01 10:00:00,123 fail2ban.actions [123]: NOTICE  [asterisk] Ban 1.2.3.4"
    assert.match(out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} sipwarden\.actions \[\d+\]: NOTICE  \[sip-auth-burst\] Ban 198\.18\.0\.\d+\n$/);
    // The usual watcher regex (fail2ban's own log, e.g. for recidive) still matches.
    assert.match(out, / NOTICE\s+\[[^\]]+\] Ban (\S+)$/m);
  });

  it('no Ban line for account blocks, even with fail2banFormat', async () => {
    const d = (await decisionsOf('password-spray.ami')).find((x) => x.action === 'block-account');
    assert.ok(d, 'password-spray capture blocks an account');
    const { logger, lines } = capture();
    assert.equal(stdoutOf(() => logDecision(logger, d, true)), '');
    const j = JSON.parse(lines[0]!);
    assert.equal(j.action, 'block-account');
    assert.equal(typeof j.account, 'string');
    assert.equal(j.ip, undefined);
  });

  it('hostile account text stays a JSON field, escaped, never raw in the line', () => {
    const { logger, lines } = capture();
    const t = Date.now();
    const hostile = '\x1b[2J\x1b[31mPWNED\x1b[0m\u202e';
    logDecision(logger, {
      id: 't1', action: 'block-account', target: { account: hostile }, rule: 'password-spray', reason: 'test', time: t, durationMs: 600_000, expiresAt: t + 600_000, offence: 0, allPorts: false,
      evidence: { attempts: 3, events: 3, first: new Date(t).toISOString(), last: new Date(t).toISOString(), sampleAccounts: [hostile], sampleIps: [] }, dryRun: false,
    });
    assert.doesNotMatch(lines[0]!, /\x1b/);
    assert.equal(lines[0]!.split('\n').length, 1);
    assert.doesNotMatch(lines[0]!, /\u202e/, 'no raw bidi override either');
    assert.equal(JSON.parse(lines[0]!).account, '\\x1b[2J\\x1b[31mPWNED\\x1b[0m\\u202e', 'escaped, readable');
  });
});
