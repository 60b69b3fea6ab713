// Guesses before ban: real Asterisk 22 (the lab), real svcrack at full speed,
// once against sipwarden (nftables) and once against stock fail2ban (the
// `asterisk` jail reading the lab's security.log, nftables-multiport), same
// machine, same run. Counts the wrong passwords Asterisk processed from the
// attacker: distinct ChallengeResponseFailed (SessionID, Response) from the
// attacker's address, as recorded over AMI.
//
// Everything happens in the lab's namespaces (prefix swbench); fail2ban-server
// runs inside the pbx namespace with its own config/socket/pid/db in a temp
// dir. Needs root, the lab chroot, svcrack, nft, fail2ban.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardArgv } from '../../test/e2e/guard-argv.ts';

process.env.SIPWARDEN_LAB_PREFIX ??= 'swbench';
const lab = await import('../../test/e2e/lab.ts');

export interface GuessResult {
  guard: string;
  attacker: string;
  guesses: number;
  banned: boolean;
  svcrackCracked: boolean;
  note?: string;
}

const WRONG = 400;
function dictionary(dir: string): string {
  const words: string[] = [];
  for (let i = 0; i < WRONG; i++) words.push(`wrong-${i.toString(36)}`);
  words.push(lab.SIP_ACCOUNTS['1001']);
  const path = join(dir, 'dict.txt');
  writeFileSync(path, words.join('\n') + '\n');
  return path;
}

function distinctGuesses(raw: string, ip: string): number {
  const seen = new Set<string>();
  for (const f of lab.parseAmiFrames(raw)) {
    if (f['Event'] !== 'ChallengeResponseFailed') continue;
    if (!(f['RemoteAddress'] ?? '').includes(`/${ip}/`)) continue;
    seen.add(`${f['SessionID']}\u0000${f['Response']}`);
  }
  return seen.size;
}

async function nftHas(ip: string): Promise<boolean> {
  const r = await lab.inNs('pbx', 'nft', ['list', 'ruleset']);
  return r.stdout.includes(ip);
}

async function attack(host: 'h11' | 'h12' | 'h13', dict: string): Promise<{ cracked: boolean; out: string }> {
  const home = mkdtempSync(join(tmpdir(), 'sw-svcrack-'));
  const r = await lab.inNs(host, 'timeout', ['40', 'svcrack', '-u', '1001', '-x', lab.IP[host], '-d', dict, lab.IP.pbx], { cwd: home, env: { ...process.env, HOME: home }, timeoutMs: 60_000 });
  rmSync(home, { recursive: true, force: true });
  if (process.env.SW_BENCH_DEBUG) console.error(r.stdout, r.stderr);
  const out = r.stdout + r.stderr;
  return { cracked: out.includes(lab.SIP_ACCOUNTS['1001']), out };
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => {
      if (child.pid) child.kill('SIGKILL');
    }, 5000);
    child.once('close', () => {
      clearTimeout(t);
      res();
    });
    child.kill(signal);
  });
}

async function runSipwarden(dir: string, dict: string, host: 'h11' | 'h12', scannerDrop: boolean): Promise<GuessResult> {
  const state = join(dir, `sw-state-${host}`);
  mkdirSync(state, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(lab.REPO_ROOT, 'config/sipwarden.example.json'), 'utf8')) as Record<string, any>;
  cfg.ami = { ...cfg.ami, host: lab.AMI.host, port: lab.AMI.port, username: lab.AMI.username, secret: lab.AMI.secret };
  cfg.stateDir = state;
  cfg.mode = 'enforce';
  // The scanner drop (iptables raw, User-Agent match) stops svcrack before Asterisk sees a single guess;
  // off, the figure is what detection alone lets through.
  cfg.scannerDrop = { ...cfg.scannerDrop, enabled: scannerDrop };
  const cfgPath = join(dir, `sipwarden-${host}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  const rec = lab.amiRecorder({ events: 'security' });
  await rec.ready;
  const sw = lab.spawnInNs('pbx', process.execPath, guardArgv('run', '--config', cfgPath, '--no-console'), { cwd: lab.REPO_ROOT });
  let log = '';
  sw.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  sw.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const up = await lab.waitFor(() => /trunk address|calls in progress/.test(log), 20_000);
  const a = await attack(host, dict);
  await new Promise((r) => setTimeout(r, 500));
  const raw = await rec.stop();
  const banned = await nftHas(lab.IP[host]);
  await stop(sw);
  await lab.inNs('pbx', 'nft', ['delete', 'table', 'inet', 'sipwarden']);
  return { guard: `sipwarden (scanner drop ${scannerDrop ? 'on, the default' : 'off: detection only'})`, attacker: lab.IP[host], guesses: distinctGuesses(raw, lab.IP[host]), banned, svcrackCracked: a.cracked, ...(up ? {} : { note: 'sipwarden start not confirmed in its log' }) };
}

async function runFail2ban(dir: string, dict: string): Promise<GuessResult> {
  const conf = join(dir, 'f2b');
  cpSync('/etc/fail2ban', conf, { recursive: true });
  rmSync(join(conf, 'jail.d'), { recursive: true, force: true }); // distro defaults (sshd...) are not wanted here
  mkdirSync(join(conf, 'jail.d'));
  const run = join(dir, 'f2b-run');
  mkdirSync(run);
  writeFileSync(join(conf, 'fail2ban.local'), `[Definition]\nloglevel = INFO\nlogtarget = ${run}/fail2ban.log\nsocket = ${run}/fail2ban.sock\npidfile = ${run}/fail2ban.pid\ndbfile = ${run}/fail2ban.sqlite3\n`);
  // Stock [asterisk] jail (maxretry 10, findtime 10m); only where the log is and nftables.
  writeFileSync(join(conf, 'jail.local'), `[DEFAULT]\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\n\n[asterisk]\nenabled = true\nlogpath = ${join(lab.LOG_ASTERISK, 'security.log')}\n`);
  const rec = lab.amiRecorder({ events: 'security' });
  await rec.ready;
  const f2b = lab.spawnInNs('pbx', 'fail2ban-server', ['-c', conf, '-s', `${run}/fail2ban.sock`, '-p', `${run}/fail2ban.pid`, '-f', '-x']);
  f2b.stdout?.resume();
  f2b.stderr?.resume();
  const client = (args: string[]) => lab.inNs('pbx', 'fail2ban-client', ['-c', conf, '-s', `${run}/fail2ban.sock`, ...args], { timeoutMs: 15_000 });
  const up = await lab.waitFor(async () => (await client(['status', 'asterisk'])).code === 0, 30_000, 250);
  const a = await attack('h13', dict);
  await new Promise((r) => setTimeout(r, 500));
  const raw = await rec.stop();
  const status = (await client(['status', 'asterisk'])).stdout;
  const banned = status.includes(lab.IP.h13);
  await client(['stop']);
  await stop(f2b);
  return { guard: `fail2ban ${(await lab.run('fail2ban-server', ['--version'])).stdout.split('\n')[0]?.trim() ?? ''}`, attacker: lab.IP.h13, guesses: distinctGuesses(raw, lab.IP.h13), banned, svcrackCracked: a.cracked, ...(up ? {} : { note: 'fail2ban did not confirm its jail' }) };
}

export async function guessesBench(): Promise<GuessResult[] | { skipped: string }> {
  const a = lab.labAvailable();
  if (!a.ok) return { skipped: a.why ?? 'lab not available' };
  const missing = lab.missingTools('svcrack', 'nft', 'fail2ban-server', 'timeout');
  if (missing.length) return { skipped: `missing tools: ${missing.join(', ')}` };
  const dir = mkdtempSync(join(tmpdir(), 'sw-guesses-'));
  await lab.labUp();
  try {
    const dict = dictionary(dir);
    // fail2ban before the scanner-drop run: that run leaves an iptables raw chain (gone with the lab).
    const detect = await runSipwarden(dir, dict, 'h11', false);
    const f2b = await runFail2ban(dir, dict);
    const drop = await runSipwarden(dir, dict, 'h12', true);
    return [detect, f2b, drop];
  } finally {
    await lab.labDown();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await guessesBench()));
  process.exit(0);
}
