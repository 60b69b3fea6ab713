// Resilience against the real Asterisk 22 lab (prefix swres), with the real
// sipwarden (bin/sipwarden.js run, nftables) inside the pbx namespace:
//  - Asterisk restart mid-attack: AMI drops and returns; detection resumes
//    without restarting sipwarden, bans from before stand, and no Hangup (or
//    any call action) is sent after the reconnect;
//  - spoofed trunk: failing REGISTERs from the trunk's address 198.18.0.50
//    (h50 holds it), which sipwarden learnt from Asterisk (PJSIPShowEndpoint
//    identify): no ban of the trunk.
// Needs root, the chroot, svcrack, sipp, nft; skips with the reason otherwise.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardArgv } from './guard-argv.ts';

process.env.SIPWARDEN_LAB_PREFIX ??= 'swres';
const lab = await import('./lab.ts');

describe('resilience: real Asterisk lab (restart mid-attack, spoofed trunk)', function () {
  this.timeout(180_000);
  let up = false;
  let dir = '';
  let sw: ChildProcess | undefined;
  let log = '';

  async function inSet(ip: string): Promise<boolean> {
    const r = await lab.inNs('pbx', 'nft', ['get', 'element', 'inet', 'sipwarden', 'ban4', `{ ${ip} }`]);
    return r.code === 0;
  }
  async function svcrack(host: 'h11' | 'h13'): Promise<void> {
    const home = mkdtempSync(join(tmpdir(), 'sw-svcrack-'));
    const words = Array.from({ length: 60 }, (_, i) => `nope-${i}`).join('\n') + '\n';
    writeFileSync(join(home, 'dict.txt'), words);
    try {
      await lab.inNs(host, 'timeout', ['20', 'svcrack', '-u', '1001', '-x', lab.IP[host], '-d', join(home, 'dict.txt'), lab.IP.pbx], { cwd: home, env: { ...process.env, HOME: home }, timeoutMs: 30_000 });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  const count = (re: RegExp) => log.match(re)?.length ?? 0;

  before(async function () {
    lab.skipWithoutLab(this, 'svcrack', 'sipp', 'nft', 'timeout');
    await lab.labUp();
    up = true;
    dir = mkdtempSync(join(tmpdir(), 'sw-reslab-'));
    mkdirSync(join(dir, 'state'));
    const cfg = JSON.parse(readFileSync(join(lab.REPO_ROOT, 'config/sipwarden.example.json'), 'utf8')) as Record<string, any>;
    cfg.ami = { ...cfg.ami, host: lab.AMI.host, port: lab.AMI.port, username: lab.AMI.username, secret: lab.AMI.secret, reconnectInitial: '200ms', reconnectMax: '1s' };
    cfg.stateDir = join(dir, 'state');
    cfg.mode = 'enforce';
    // svcrack's User-Agent would be dropped by the scanner drop before Asterisk sees it: off, to test detection.
    cfg.scannerDrop = { ...cfg.scannerDrop, enabled: false };
    writeFileSync(join(dir, 'sipwarden.json'), JSON.stringify(cfg));
    sw = lab.spawnInNs('pbx', process.execPath, guardArgv('run', '--config', join(dir, 'sipwarden.json'), '--no-console'), { cwd: lab.REPO_ROOT });
    sw.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    sw.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    assert.ok(await lab.waitFor(() => /trunk address\(es\) will never be banned/.test(log), 30_000), `sipwarden did not come up:\n${log.slice(-2000)}`);
  });

  after(async () => {
    if (sw && sw.exitCode === null && sw.signalCode === null) {
      const closed = new Promise((r) => sw!.once('close', r));
      sw.kill('SIGTERM');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      if (sw.exitCode === null && sw.signalCode === null) sw.kill('SIGKILL');
    }
    if (up) await lab.labDown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Asterisk restart mid-attack: detection resumes, earlier bans stand, no stale Hangup', async () => {
    await svcrack('h11');
    assert.ok(await lab.waitFor(() => inSet(lab.IP.h11), 10_000), 'h11 banned before the restart');
    const connectedBefore = count(/"msg":"AMI connected"/g);
    const logMark = log.length;
    // Restart Asterisk in place (same lab; AMI drops and comes back).
    await lab.asteriskCli('core restart now').catch(() => '');
    assert.ok(await lab.waitFor(() => count(/"msg":"AMI connected"/g) > connectedBefore, 60_000, 200), `sipwarden did not reconnect:\n${log.slice(-2000)}`);
    assert.ok(await lab.waitFor(async () => (await lab.asteriskCli('core show uptime').catch(() => '')).includes('System uptime'), 30_000, 250));
    await new Promise((r) => setTimeout(r, 1500)); // PJSIP transports up
    await svcrack('h13');
    assert.ok(await lab.waitFor(() => inSet(lab.IP.h13), 15_000), `h13 not banned after the restart:\n${log.slice(logMark).slice(-2000)}`);
    assert.ok(await inSet(lab.IP.h11), 'the ban from before the restart still stands in the kernel');
    const after = log.slice(logMark);
    assert.ok(!/"action":"hangup"|Action: Hangup|"Hangup"/.test(after), 'no Hangup after the reconnect');
    assert.equal(sw?.exitCode, null, 'sipwarden kept running');
  });

  it('spoofed trunk: failures from 198.18.0.50 (discovered trunk) never ban it', async () => {
    assert.match(log, /198\.18\.0\.50\/32 \(trunk provider/);
    const rec = lab.amiRecorder({ events: 'security' });
    await rec.ready;
    // From the trunk's address Asterisk identifies the endpoint `provider` and refuses REGISTERs
    // (RequestNotSupported, a failure): a flood of them must not ban the trunk.
    const r = await lab.runSipp('h50', { scenario: 'register_scan.xml', csv: `SEQUENTIAL\n${Array.from({ length: 20 }, (_, i) => `admin${i}`).join('\n')}\n`, calls: 60, rate: 30, timeoutMs: 30_000 });
    const raw = await rec.stop();
    const FAILURES = new Set(['ChallengeResponseFailed', 'InvalidAccountID', 'RequestNotSupported', 'RequestNotAllowed', 'FailedACL', 'InvalidPassword', 'AuthMethodNotAllowed', 'UnexpectedAddress', 'RequestBadFormat']);
    const failures = lab.parseAmiFrames(raw).filter((f) => FAILURES.has(f['Event'] ?? '') && (f['RemoteAddress'] ?? '').includes(`/${lab.IP.h50}/`)).length;
    // At least the burst threshold (5 in 60 s): enough to get any other host banned.
    assert.ok(failures >= 5, `Asterisk saw only ${failures} failures from the trunk (sipp ${r.code}: ${r.stdout.slice(-500)} ${r.stderr.slice(-300)})`);
    await new Promise((r2) => setTimeout(r2, 500));
    assert.ok(!(await inSet(lab.IP.h50)), 'the trunk was banned');
    const ruleset = (await lab.inNs('pbx', 'nft', ['list', 'table', 'inet', 'sipwarden'])).stdout;
    assert.ok(!ruleset.includes(lab.IP.h50) && !ruleset.includes('198.18.0.0/24'), 'no set element covers the trunk');
    assert.match(log, /not banned: 198\.18\.0\.50 is trusted: trunk provider/);
  });
});
