import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { createReplay } from '../../../src/replay/replay.ts';
import type { Alert, Decision } from '../../../src/domain/types.ts';
import { FIXTURES, fixtureFiles } from '../../helpers/fixtures.ts';
import { sec } from '../../helpers/fixtures.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';

const expected: Record<string, Array<{ action: string; target: Record<string, string>; rule: string; attempts?: number }>> = JSON.parse(
  readFileSync(new URL('../../expected/decisions.json', import.meta.url), 'utf8'),
);
const config = loadConfig(DEFAULT_CONFIG_PATH, {});

async function replay(file: string, cfg = config): Promise<{ alerts: Alert[]; decisions: Decision[] }> {
  const alerts: Alert[] = [];
  const decisions: Decision[] = [];
  const r = createReplay(cfg, { onAlert: (a) => alerts.push(a), onDecision: (d) => decisions.push(d) });
  await r.feedFile(join(FIXTURES, file));
  r.close();
  return { alerts, decisions };
}

describe('golden: captures -> decisions', () => {
  for (const file of fixtureFiles().filter((f) => !f.startsWith('pjsip-') && !f.startsWith('command-') && !f.startsWith('core-show'))) {
    it(`${file} gives the decisions written in test/expected/decisions.json`, async () => {
      assert.ok(file in expected, `no expectation written for ${file}`);
      const { decisions } = await replay(file);
      const got = decisions.map((d) => ({ action: d.action, target: d.target, rule: d.rule }));
      assert.deepEqual(got, expected[file]!.map(({ action, target, rule }) => ({ action, target, rule })));
      expected[file]!.forEach((e, i) => e.attempts !== undefined && assert.equal(decisions[i]!.evidence.attempts, e.attempts));
    });
  }

  // Each rule on its own: with all of them, a source banned by one is passed over by the others.
  it('every rule of the example config, on its own, is triggered by at least one capture', async () => {
    const fired = new Set<string>();
    for (const rule of config.rules) for (const f of fixtureFiles()) for (const a of (await replay(f, { ...config, rules: [rule] })).alerts) fired.add(a.rule);
    const silent = config.rules.map((r) => r.id).filter((id) => !fired.has(id));
    assert.deepEqual(silent, [], `rules no capture triggers: ${silent.join(', ')}`);
  });

  it('the default config leaves a phone that mistypes its password 3 times in a minute alone, and bans at the 5th', () => {
    const p = new Pipeline(config, { dryRun: true });
    const decisions: Decision[] = [];
    p.decisions$.subscribe((d) => decisions.push(d));
    const t0 = Date.UTC(2026, 10, 22, 12);
    for (let i = 0; i < 3; i++) p.pushEvent(sec({ ip: '198.18.0.14', time: t0 + i * 20_000, sessionId: `reg-${i}`, extra: { Response: `r${i}` } }));
    assert.equal(decisions.length, 0, 'a mistyped password retried 3 times is not an attack');
    for (let i = 0; i < 4; i++) p.pushEvent(sec({ ip: '198.18.0.15', time: t0 + i * 10_000 }));
    assert.equal(decisions.length, 0, 'four is still not enough');
    p.pushEvent(sec({ ip: '198.18.0.15', time: t0 + 45_000 }));
    assert.equal(decisions.length, 1);
    assert.deepEqual(decisions[0]!.target, { ip: '198.18.0.15' });
    assert.equal(decisions[0]!.evidence.attempts, 5);
    p.complete();
  });

  it('`sipwarden replay --json` prints one decision object per line, then a summary', () => {
    const bin = new URL('../../../bin/sipwarden.js', import.meta.url).pathname;
    const out = execFileSync(process.execPath, [bin, 'replay', '--json', join(FIXTURES, 'bruteforce-svcrack.ami'), join(FIXTURES, 'hostile-accountid.ami')], { encoding: 'utf8' });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.type), ['decision', 'decision', 'summary']);
    assert.deepEqual(Object.keys(lines[0].evidence).slice(0, 4), ['attempts', 'events', 'first', 'last']);
    assert.equal(lines[2].attempts, 155);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no raw control character in the output');
  });
});
