#!/usr/bin/env node
// The one test command (`npm test`): type-check, then every mocha suite (unit,
// then e2e against the real Asterisk lab when running as root), then the
// closing `N passed, N failed` line. Exit status is non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // optional spec globs
let passed = 0;
let failed = 0;

process.stdout.write('== type-check (tsc --noEmit)\n');
const tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status === 0) passed++;
else failed++;

const isRoot = process.getuid?.() === 0;
const specs = only.length ? only : ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'];
if (!only.length && !isRoot) {
  process.stdout.write('\nNOTE: not root: the e2e tests against the real Asterisk lab (network namespaces, nftables) will be skipped; run as root (or in CI) to include them.\n');
}
const dir = mkdtempSync(join(tmpdir(), 'sipwarden-test-'));
const counts = join(dir, 'counts.json');
process.stdout.write(`\n== mocha ${specs.join(' ')}\n`);
const args = ['mocha', '--reporter', join(root, 'test/reporter.cjs'), ...specs.flatMap((s) => ['--spec', s])];
const mocha = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env: { ...process.env, SIPWARDEN_TEST_COUNTS: counts } });
try {
  const c = JSON.parse(readFileSync(counts, 'utf8'));
  passed += c.passes;
  failed += c.failures;
  if (c.pending) process.stdout.write(`(${c.pending} skipped; each says why above)\n`);
} catch {
  process.stdout.write(`mocha ended without counts (exit ${mocha.status}, signal ${mocha.signal})\n`);
  failed++;
}
if (mocha.status !== 0 && failed === 0) failed++;
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
