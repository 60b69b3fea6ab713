import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { warmUp } from '../../../src/pipeline/warm-up.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { framesFromBuffer } from '../../../src/sources/ami/framer.ts';
import type { Decision } from '../../../src/domain/types.ts';
import { FIXTURES } from '../../helpers/fixtures.ts';

const config = loadConfig(DEFAULT_CONFIG_PATH, {});
const expected: Record<string, Array<{ action: string; target: Record<string, string>; rule: string }>> = JSON.parse(
  readFileSync(new URL('../../expected/decisions.json', import.meta.url), 'utf8'),
);

function decisionsOf(file: string): Array<Pick<Decision, 'action' | 'target' | 'rule'> & { attempts: number }> {
  const p = new Pipeline(config, { dryRun: true });
  const out: Array<Pick<Decision, 'action' | 'target' | 'rule'> & { attempts: number }> = [];
  p.decisions$.subscribe((d) => out.push({ action: d.action, target: d.target, rule: d.rule, attempts: d.evidence.attempts }));
  for (const f of framesFromBuffer(readFileSync(join(FIXTURES, file)))) p.push(f);
  p.complete();
  return out;
}

describe('pipeline/warm-up', () => {
  it('runs the decision path of every kind of ban the example config makes', () => {
    const r = warmUp(config);
    assert.equal(r.frames, 3 * 36);
    for (const d of ['ban-ip:sip-auth-burst', 'ban-ip:extension-scan', 'block-account:password-spray', 'ban-ip:failed-acl', 'ban-ip:ami-login-failures']) {
      assert.ok(r.decided.includes(d), `${d} not reached: ${r.decided.join(', ')}`);
    }
  });

  it('leaves no timer or handle behind', async () => {
    await new Promise((r) => setImmediate(r));
    const before = process.getActiveResourcesInfo().sort();
    warmUp(config);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(process.getActiveResourcesInfo().sort(), before);
  });

  it('shares no state with a real pipeline: a capture decides the same before and after it', () => {
    const files = ['bruteforce-svcrack.ami', 'extension-scan-svwar.ami', 'failed-acl.ami', 'ami-login-bruteforce.ami'];
    warmUp(config);
    const want = files.map((f) => expected[f]!.map(({ action, target, rule }) => ({ action, target, rule })));
    // Also between a real pipeline's frames: made before the warm-up, fed after it.
    const p = new Pipeline(config, { dryRun: true });
    const mid: string[] = [];
    p.decisions$.subscribe((d) => mid.push(`${d.action}:${d.rule}:${d.evidence.attempts}`));
    const frames = framesFromBuffer(readFileSync(join(FIXTURES, files[0]!)));
    const half = frames.length >> 1;
    for (const f of frames.slice(0, half)) p.push(f);
    warmUp(config);
    for (const f of frames.slice(half)) p.push(f);
    p.complete();
    // The decisions test/expected/decisions.json holds for these captures (the golden test's, made cold).
    const after = files.map(decisionsOf);
    assert.deepEqual(after.map((ds) => ds.map(({ action, target, rule }) => ({ action, target, rule }))), want);
    assert.deepEqual(mid, after[0]!.map((d) => `${d.action}:${d.rule}:${d.attempts}`));
    assert.ok(want[0]!.length > 0 && after[0]![0]!.attempts === 5, JSON.stringify(after[0]));
  });
});
