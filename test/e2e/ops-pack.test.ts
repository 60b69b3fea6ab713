// The package as an admin installs it: `npm pack` (prepack builds dist/), then
// `npm install -g --prefix TMP ./sipwarden-*.tgz` (runtime dependencies only,
// no tsx), then the installed binary runs demo, check-config, doctor and run.
// The pack runs in a copy of the repo so a fresh dist/ never shadows src/ in
// this checkout (bin/sipwarden.js prefers dist/ when it exists).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function sh(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

describe('ops: npm pack + npm install -g of the tarball', function () {
  this.timeout(240_000);
  let dir = '';
  let bin = '';
  let pkgDir = '';

  before(function () {
    if (process.env.SIPWARDEN_SKIP_PACK === '1') {
      console.log('      (pack test skipped: SIPWARDEN_SKIP_PACK=1)');
      this.skip();
    }
    const ping = sh('npm', ['ping'], { timeoutMs: 20_000 });
    if (ping.code !== 0) {
      console.log(`      (pack test skipped: the npm registry is unreachable, npm install -g needs it for the runtime dependencies)`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'swops-pack-'));
    const src = join(dir, 'src-copy');
    cpSync(ROOT, src, {
      recursive: true,
      filter: (p) => {
        const rel = relative(ROOT, p);
        return !/^(node_modules|\.git|dist|\.lab|state|bench\/tmp)(\/|$)/.test(rel);
      },
    });
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    const pack = sh('npm', ['pack', '--pack-destination', dir], { cwd: src });
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr.slice(-2000)}`);
    const tgz = readdirSync(dir).find((f) => /^sipwarden-.*\.tgz$/.test(f));
    assert.ok(tgz, 'no tarball');
    const prefix = join(dir, 'prefix');
    const inst = sh('npm', ['install', '-g', '--no-audit', '--no-fund', '--prefix', prefix, join(dir, tgz)], { timeoutMs: 180_000 });
    assert.equal(inst.code, 0, `npm install -g failed:\n${inst.stderr.slice(-2000)}`);
    bin = join(prefix, 'bin/sipwarden');
    pkgDir = join(prefix, 'lib/node_modules/sipwarden');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships dist/, systemd/, the demo captures, and no dev dependency', () => {
    for (const f of ['dist/cli/main.js', 'dist/ops/doctor.js', 'systemd/sipwarden.service', 'config/sipwarden.example.json', 'dialplan/sipwarden.conf', 'test/fixtures/ami/hostile-accountid.ami'])
      assert.ok(existsSync(join(pkgDir, f)), `${f} missing from the installed package`);
    for (const dev of ['tsx', 'typescript', 'mocha']) assert.ok(!existsSync(join(pkgDir, 'node_modules', dev)), `${dev} (a devDependency) got installed`);
  });

  it('runs `sipwarden demo` non-interactively', () => {
    const r = sh(bin, ['demo', '--speed', '1000'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /BAN-IP 198\.18\.0\.\d+/);
    assert.match(r.stdout, /demo: \d+ security events/);
  });

  it('runs check-config on the shipped example and refuses a missing file', () => {
    const ok = sh(bin, ['check-config', join(pkgDir, 'config/sipwarden.example.json')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OK \(\d+ rules/);
    const missing = sh(bin, ['check-config', join(dir, 'nope.json')]);
    assert.equal(missing.code, 78);
    assert.match(missing.stderr, /file not found \(copy config\/sipwarden\.example\.json there\)/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
  });

  it('runs doctor: one line per check, non-zero when AMI is unreachable', () => {
    const cfg = join(dir, 'doctor.json');
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    writeFileSync(cfg, JSON.stringify({ ami: { host: '127.0.0.1', port: 9, secret: 'x' }, stateDir: join(dir, 'state'), mode: 'dry-run' }));
    const r = sh(bin, ['doctor', '--config', cfg], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /\[ OK \] config: /);
    assert.match(r.stdout, /\[FAIL\] ami-reach: cannot reach AMI at 127\.0\.0\.1:9: .* -> fix: /);
  });
});
