// Bad input at start, through the real CLI: each gets one line that names the
// fix and a non-zero exit, never a stack trace. Plus the happy path: run with
// metrics on, scrape, SIGHUP, SIGTERM. No lab needed: AMI points at a closed
// loopback port. The unreadable-state-dir and dropped-capability cases need
// root (setpriv) and skip otherwise.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardArgv } from './guard-argv.ts';

const BIN = fileURLToPath(new URL('../../bin/sipwarden.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const hasSetpriv = !spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).error;

function cli(args: string[], prefix: string[] = [], timeoutMs = 30_000) {
  const [cmd, ...rest] = prefix.length ? [...prefix, process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const { SIPWARDEN_AMI_SECRET: _s, ...env } = process.env;
  const r = spawnSync(cmd!, rest, { encoding: 'utf8', timeout: timeoutMs, env });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function assertOneLineError(r: { code: number | null; stderr: string }, re: RegExp): void {
  assert.notEqual(r.code, 0, 'must fail');
  assert.notEqual(r.code, null, 'must exit by itself, not hang');
  assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace:\n${r.stderr}`);
  assert.match(r.stderr, re);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

describe('ops: start-up errors and the running service, via the CLI', function () {
  this.timeout(60_000);
  let dir = '';
  const config = (name: string, extra: Record<string, unknown>) => {
    const file = join(dir, name);
    // Port 9 on loopback: nothing listens, AMI stays "disconnected" (backoff), harmlessly.
    writeFileSync(file, JSON.stringify({ ami: { host: '127.0.0.1', port: 9, secret: 'x', reconnectMax: '2s' }, stateDir: join(dir, 'state'), trunks: { discover: false }, ...extra }));
    return file;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'swops-cli-'));
    chmodSync(dir, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('missing config file', () => {
    const r = cli(['run', '--config', join(dir, 'nope.json')]);
    assert.equal(r.code, 78);
    assertOneLineError(r, /nope\.json: file not found \(copy config\/sipwarden\.example\.json there\)/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  });

  it('a state dir that cannot be created', () => {
    writeFileSync(join(dir, 'a-file'), '');
    const r = cli(['run', '--dry-run', '--no-console', '--config', config('sd.json', { stateDir: join(dir, 'a-file', 'state') })]);
    assertOneLineError(r, /^sipwarden: state dir .* cannot be created \(ENOTDIR\): .*StateDirectory=sipwarden.*\n$/);
  });

  it('an unreadable state dir (run as nobody, dir owned by root 0700)', function () {
    if (!isRoot || !hasSetpriv) this.skip();
    const sd = join(dir, 'private-state');
    mkdirSync(sd, { mode: 0o700 });
    const cfg = config('priv.json', { stateDir: sd, mode: 'dry-run' });
    chmodSync(cfg, 0o644);
    const r = cli(['run', '--no-console', '--config', cfg], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    assertOneLineError(r, /^sipwarden: state dir .*private-state is not writable by uid 65534 \(EACCES\): chown it to the service user \(chown -R sipwarden:sipwarden .*\) or set stateDir in .*\n$/);
  });

  it('the metrics port already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = cli(['run', '--dry-run', '--no-console', '--config', config('m.json', { metrics: { enabled: true, port } })]);
      assertOneLineError(r, new RegExp(`^sipwarden: metrics endpoint 127\\.0\\.0\\.1:${port} is already in use: .*metrics\\.port.*\\n$`));
      assert.equal(r.code, 1);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('CAP_NET_ADMIN not granted (enforce mode, nftables)', function () {
    const cfg = config('cap.json', { mode: 'enforce', firewall: { backend: 'nftables' } });
    // As root, drop the capability from the bounding set (what the nft child would get).
    if (isRoot && !hasSetpriv) this.skip();
    const r = cli(['run', '--no-console', '--config', cfg], isRoot ? ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'] : []);
    assertOneLineError(r, /^sipwarden: firewall\.backend "nftables" needs CAP_NET_ADMIN .*: grant it \(systemd: AmbientCapabilities=CAP_NET_ADMIN.*\n$/);
  });

  it('runs with metrics: scrape, SIGHUP reload, SIGTERM exits 0', async () => {
    const port = await freePort();
    const cfg = config('ok.json', { mode: 'dry-run', metrics: { enabled: true, port } });
    const child = spawn(process.execPath, guardArgv('run', '--no-console', '--config', cfg), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    try {
      const deadline = Date.now() + 20_000;
      let text = '';
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          text = await res.text();
          if (/sipwarden_ami_state\{state="(disconnected|connecting)"\} 1/.test(text) && /sipwarden_ami_reconnects_total [1-9]/.test(text)) break;
        } catch {
          /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, /sipwarden_ami_connected 0/, `metrics:\n${text.slice(0, 1500)}\nstderr:${err}`);
      assert.match(text, /sipwarden_ami_reconnects_total [1-9]/);
      assert.match(text, /nodejs_eventloop_lag_seconds /);
      assert.match(text, /sipwarden_pipeline_lag_seconds_bucket/);
      assert.match(out, /"msg":"metrics endpoint listening"/);
      child.kill('SIGHUP');
      const reloaded = Date.now() + 5000;
      while (!out.includes('"msg":"config reloaded"') && Date.now() < reloaded) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /"msg":"config reloaded"/);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
      assert.equal(code, 0, `exit ${code}\n${err}`);
      assert.match(out, /"msg":"sipwarden stopped"/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
