// The shipped unit must parse (systemd-analyze verify) and keep its hardening.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNIT = fileURLToPath(new URL('../../../systemd/sipwarden.service', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/sipwarden.js', import.meta.url));

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const x = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (x) m.set(x[1]!, [...(m.get(x[1]!) ?? []), x[2]!]);
  }
  return m;
}

describe('systemd/sipwarden.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const d = directives(text);
  const one = (k: string) => d.get(k)?.at(-1);

  it('runs as a dedicated user with only CAP_NET_ADMIN, hardened', () => {
    assert.equal(one('User'), 'sipwarden');
    assert.equal(one('AmbientCapabilities'), 'CAP_NET_ADMIN');
    assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_ADMIN');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('StateDirectory'), 'sipwarden');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('RestartPreventExitStatus'), '78');
    assert.match(one('ExecReload')!, /kill -HUP \$MAINPID$/);
    assert.match(one('ExecStart')!, /sipwarden run --config \/etc\/sipwarden\/sipwarden\.json --no-console$/);
    assert.match(one('RestrictAddressFamilies')!, /AF_NETLINK/);
    assert.equal(d.has('MemoryDenyWriteExecute'), false, "V8's JIT needs W+X pages");
  });

  it('runs node with the runtime options the benchmarks and e2e tests use', async () => {
    const { NODE_RUNTIME_OPTIONS } = await import('../../../src/ops/runtime.ts');
    assert.deepEqual(d.get('Environment'), [`NODE_OPTIONS=${NODE_RUNTIME_OPTIONS}`]);
  });

  it('passes systemd-analyze verify', function () {
    const probe = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    if (probe.error) {
      console.log('      (skipped: systemd-analyze not installed; apt-get install systemd)');
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'swops-unit-'));
    try {
      // verify checks that ExecStart exists; point it at this checkout's binary.
      const unit = join(dir, 'sipwarden.service');
      writeFileSync(unit, text.replace(/^ExecStart=\S+/m, `ExecStart=${BIN}`));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      // Unknown or misspelt keys are only warnings (exit 0): none allowed.
      assert.equal(r.stderr.trim(), '', r.stderr);
      const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8', timeout: 30_000 });
      const m = /Overall exposure level for sipwarden\.service: ([\d.]+)/.exec(sec.stdout);
      if (m) assert.ok(Number(m[1]) <= 3, `exposure ${m[1]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
