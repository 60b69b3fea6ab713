import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureTool, onPath, oneCore } from '../../../bench/lib/tools.ts';

describe('bench tools: finding a program without a shell', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sw-tools-'));
    writeFileSync(join(dir, 'runnable'), '#!/bin/true\n');
    chmodSync(join(dir, 'runnable'), 0o755);
    writeFileSync(join(dir, 'plain'), 'not a program\n');
    chmodSync(join(dir, 'plain'), 0o644);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds an executable in a PATH directory, skipping empty entries', () => {
    assert.equal(onPath('runnable', `::/nonexistent:${dir}`), true);
  });

  it('does not take a file that cannot be executed, or a name in no PATH directory', () => {
    // No execute bit at all: refused to root as well.
    assert.equal(onPath('plain', dir), false);
    assert.equal(onPath('runnable', '/nonexistent'), false);
    assert.equal(onPath('runnable', ''), false);
  });

  it('ensureTool answers at once for a program that is there', () => {
    const saved = process.env['PATH'];
    process.env['PATH'] = dirname(process.execPath);
    try {
      assert.equal(ensureTool('node', 'nodejs'), '');
    } finally {
      process.env['PATH'] = saved;
    }
  });
});

describe('bench tools: one core for the throughput child', () => {
  it('pins to the first CPU the process may use', function () {
    if (!onPath('taskset')) this.skip(); // util-linux not installed: the next test covers the fallback text
    const c = oneCore('Name:\tnode\nCpus_allowed:\t0c\nCpus_allowed_list:\t2-3\n');
    assert.deepEqual(c.prefix, ['taskset', '-c', '2']);
    assert.match(c.what, /pinned to CPU 2/);
  });

  it('runs unpinned, and says why, when the allowed CPUs are unknown', () => {
    const c = oneCore('Name:\tnode\n');
    assert.deepEqual(c.prefix, []);
    assert.match(c.what, /^not pinned: /);
  });
});
