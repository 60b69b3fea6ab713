import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_COMMAND_LINE_OPTIONS, V8_COMPILER_OPTIONS, compilerOptionsFor, withRuntimeOptions } from '../../../src/ops/runtime.ts';

const main = fileURLToPath(new URL('../../../bin/sipwarden.js', import.meta.url));

describe('runtime options', () => {
  it("are flags this node's V8 knows (node refuses unknown ones on its command line)", () => {
    const r = spawnSync(process.execPath, [...V8_COMPILER_OPTIONS, '-e', '0'], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('are set by the CLI before any command runs, without a word on stderr', () => {
    // setFlagsFromString ignores a flag it does not know with a warning on stderr: none here.
    const r = spawnSync(process.execPath, [main, 'check-config', fileURLToPath(new URL('../../../config/sipwarden.example.json', import.meta.url))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  it("leave a flag the admin put on node's command line as it is", () => {
    assert.deepEqual(compilerOptionsFor([]), [...V8_COMPILER_OPTIONS]);
    assert.deepEqual(compilerOptionsFor(['--max-inlined-bytecode-size=200']), ['--max-inlined-bytecode-size-cumulative=3000']);
    assert.deepEqual(compilerOptionsFor(['--max_inlined_bytecode_size_cumulative=500', '--import', 'tsx']), ['--max-inlined-bytecode-size=1000']);
    // A longer flag that only starts with the name is another flag.
    assert.deepEqual(compilerOptionsFor(['--max-inlined-bytecode-size-small=60']), [...V8_COMPILER_OPTIONS]);
  });

  it('adds the semi-space size to NODE_OPTIONS once', () => {
    assert.equal(withRuntimeOptions(undefined), '--max-semi-space-size=6');
    assert.equal(withRuntimeOptions('--inspect'), '--inspect --max-semi-space-size=6');
    assert.equal(withRuntimeOptions('--max-semi-space-size=6'), '--max-semi-space-size=6');
  });

  it("the bin's shebang carries the node options that only the command line can set, and node takes them", () => {
    const shebang = readFileSync(main, 'utf8').split('\n')[0]!;
    assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_COMMAND_LINE_OPTIONS.join(' ')}`);
    const r = spawnSync(process.execPath, [...NODE_COMMAND_LINE_OPTIONS, '-e', '0'], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('runs the CLI through its shebang (env -S), as the unit and npx do', () => {
    const r = spawnSync(main, ['check-config', fileURLToPath(new URL('../../../config/sipwarden.example.json', import.meta.url))], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
