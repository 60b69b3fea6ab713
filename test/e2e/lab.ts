// Helper for end-to-end tests against the real Asterisk 22 lab (scripts/lab/lab.sh).
//
//   import { labAvailable, labUp, labDown, inNs, IP, AMI } from './lab.ts';
//   before(async function () {
//     const a = labAvailable();
//     if (!a.ok) this.skip();            // not root, no chroot, no netns ...
//     await labUp();
//   });
//   after(() => labDown());
//
// Everything runs through node:child_process with argument arrays (no shell).
// The lab lives in network namespaces `${prefix}-pbx`, `${prefix}-h11`, ...; AMI
// listens on 127.0.0.1:5038 *inside* the pbx namespace, so an AMI client must run
// there: spawnInNs('pbx', process.execPath, [...]), amiRecorder(), or startAmiProxy()
// (a unix-socket bridge the test process itself can connect to).
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onPath } from '../../bench/lib/tools.ts';

export type LabHost = 'pbx' | 'h11' | 'h12' | 'h13' | 'h50';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LAB_SH = join(REPO_ROOT, 'scripts/lab/lab.sh');
export const BUILD_CHROOT_SH = join(REPO_ROOT, 'scripts/lab/build-chroot.sh');
export const RECORD_AMI = join(REPO_ROOT, 'scripts/lab/record-ami.mjs');
export const ASTERISK_CONF_DIR = join(REPO_ROOT, 'test/lab/asterisk');
export const SIPP_DIR = join(REPO_ROOT, 'test/lab/sipp');

export const LAB_PREFIX = process.env.SIPWARDEN_LAB_PREFIX ?? 'swlab';
export const LAB_DIR = process.env.SIPWARDEN_LAB_DIR ?? '/var/cache/sipwarden-lab';
export const CHROOT_DIR = join(LAB_DIR, 'chroot');
export const RUN_DIR = join(process.env.SIPWARDEN_LAB_RUN ?? '/run/sipwarden-lab', LAB_PREFIX);
/** The running Asterisk's root (an overlay on CHROOT_DIR); exists only while the lab is up. */
export const ROOT_DIR = join(RUN_DIR, 'root');
/** Host path of the running Asterisk's /etc/asterisk (write sipwarden-acl.conf etc. here). */
export const ETC_ASTERISK = join(ROOT_DIR, 'etc/asterisk');
/** Host path of the running Asterisk's /var/log/asterisk (messages.log, security.log). */
export const LOG_ASTERISK = join(ROOT_DIR, 'var/log/asterisk');

export const IP = {
  pbx: '198.18.0.1',
  h11: '198.18.0.11',
  h12: '198.18.0.12',
  h13: '198.18.0.13',
  h50: '198.18.0.50',
} as const satisfies Record<LabHost, string>;

export const IP6 = {
  pbx: 'fd00:5157::1',
  h11: 'fd00:5157::11',
  h12: 'fd00:5157::12',
  h13: 'fd00:5157::13',
  h50: 'fd00:5157::50',
} as const satisfies Record<LabHost, string>;

export const SIP_PORT = 5060;

/** AMI of the lab PBX; reachable only from inside the pbx namespace. */
export const AMI = { host: '127.0.0.1', port: 5038, username: 'sipwarden', secret: 'lab-secret' } as const;
/** ARI/HTTP of the lab PBX; reachable only from inside the pbx namespace. */
export const ARI = { url: 'http://127.0.0.1:8088/ari', username: 'sipwarden', password: 'lab-secret' } as const;

/** PJSIP accounts of the lab (auth username = endpoint name). 1003 is only permitted from 198.18.0.12. */
export const SIP_ACCOUNTS = {
  '1001': 's3cret-1001',
  '1002': 's3cret-1002',
  '1003': 's3cret-1003',
  '1004': 's3cret-1004',
} as const;
export const TRUNK = { endpoint: 'provider', ip: IP.h50, registration: 'provider-reg' } as const;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** kill the process (SIGTERM, then SIGKILL) after this many ms; default 30 s */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

function labEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SIPWARDEN_LAB_PREFIX: LAB_PREFIX,
    SIPWARDEN_LAB_DIR: LAB_DIR,
    SIPWARDEN_LAB_RUN: dirname(RUN_DIR),
    ...extra,
  };
}

/** Run a program (argument array, no shell); resolves with its exit code and output, never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      cmd,
      [...args],
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          // spawn failure (ENOENT ...), not an exit code
          reject(new Error(`${cmd}: ${err.message}`));
          return;
        }
        const e = err as (Error & { code?: number | null; signal?: NodeJS.Signals | null }) | null;
        resolvePromise({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function nsName(host: LabHost): string {
  return `${LAB_PREFIX}-${host}`;
}

/** Run `cmd args` inside a lab host's network namespace. */
export function inNs(host: LabHost, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', nsName(host), cmd, ...args], opts);
}

/**
 * Spawn `cmd args` inside a lab host's network namespace. `ip netns exec` exec()s the
 * command, so child.pid is the command's own PID: child.kill() stops exactly it.
 */
export function spawnInNs(host: LabHost, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', nsName(host), cmd, ...args], { stdio: 'pipe', ...opts });
}

/** Can the lab run here? (Linux, root, chroot built, ip/unshare usable.) Synchronous, fast. */
export function labAvailable(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: `needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root (network namespaces, mounts, chroot)' };
  if (!existsSync(join(CHROOT_DIR, 'usr/sbin/asterisk')))
    return { ok: false, why: `no Asterisk chroot at ${CHROOT_DIR}; run ${BUILD_CHROOT_SH}` };
  if (!onPath('ip')) return { ok: false, why: 'iproute2 (ip) is not installed' };
  const u = spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore', timeout: 5000 });
  if (u.error || u.status !== 0) return { ok: false, why: 'cannot create network namespaces (unshare -n failed)' };
  return { ok: true };
}

/** Are these programs installed (e.g. 'sipp', 'svcrack', 'nft')? Returns the missing ones. */
export function missingTools(...tools: string[]): string[] {
  return tools.filter((t) => !onPath(t));
}

export interface LabUpOptions {
  /** build the chroot first if it is missing (takes ~20 s; needs mmdebstrap); default false */
  build?: boolean;
  /** Asterisk config dir copied to /etc/asterisk; default test/lab/asterisk */
  confDir?: string;
  /** files or dirs copied over it afterwards (e.g. dialplan/sipwarden-dialplan.conf) */
  extraConf?: string[];
  /** overall timeout for `lab.sh up`; default 90 s */
  timeoutMs?: number;
}

/** Bring the lab up (tears down leftovers of the same prefix first). Rejects with lab.sh's stderr on failure. */
export async function labUp(opts: LabUpOptions = {}): Promise<void> {
  if (opts.build && !existsSync(join(CHROOT_DIR, 'usr/sbin/asterisk'))) {
    const b = await run(BUILD_CHROOT_SH, [], { env: labEnv(), timeoutMs: 20 * 60_000 });
    if (b.code !== 0) throw new Error(`build-chroot.sh failed (${b.code ?? b.signal}):\n${b.stderr}`);
  }
  const extra: NodeJS.ProcessEnv = {};
  if (opts.confDir) extra.SIPWARDEN_LAB_CONF = resolve(opts.confDir);
  if (opts.extraConf?.length) extra.SIPWARDEN_LAB_EXTRA_CONF = opts.extraConf.map((f) => resolve(f)).join(':');
  const r = await run(LAB_SH, ['up'], { env: labEnv(extra), timeoutMs: opts.timeoutMs ?? 90_000 });
  if (r.code !== 0) throw new Error(`lab.sh up failed (${r.code ?? r.signal}):\n${r.stderr}${r.stdout}`);
}

/** Tear the lab down (stop Asterisk, unmount, delete this prefix's namespaces). Safe to call when already down. */
export async function labDown(): Promise<void> {
  const r = await run(LAB_SH, ['down'], { env: labEnv(), timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`lab.sh down failed (${r.code ?? r.signal}):\n${r.stderr}`);
}

/** `lab.sh status` (code 0 = up, 3 = Asterisk not running). */
export function labStatus(): Promise<RunResult> {
  return run(LAB_SH, ['status'], { env: labEnv(), timeoutMs: 20_000 });
}

/** Run an Asterisk CLI command (`asterisk -rx`) in the lab PBX; resolves with its output, rejects on failure. */
export async function asteriskCli(command: string, timeoutMs = 20_000): Promise<string> {
  const r = await inNs('pbx', 'chroot', [ROOT_DIR, '/usr/sbin/asterisk', '-rx', command], { timeoutMs });
  if (r.code !== 0) throw new Error(`asterisk -rx '${command}' failed (${r.code ?? r.signal}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Write a file into the running Asterisk's /etc/asterisk (e.g. 'sipwarden-acl.conf'). */
export function writeAsteriskConf(name: string, content: string): void {
  if (name.includes('/') || name.startsWith('.')) throw new Error(`bad config file name: ${name}`);
  writeFileSync(join(ETC_ASTERISK, name), content);
}

export interface SippOptions {
  /** scenario file name in test/lab/sipp (or an absolute path) */
  scenario: string;
  /** injection CSV content (written to a temp file and passed with -inf) */
  csv?: string;
  /** -s: the dialed number / request-URI user */
  service?: string;
  /** local SIP port; default 5000 + host number (5011, 5012, ...) */
  localPort?: number;
  /** -m: number of calls; default 1 */
  calls?: number;
  /** -r: calls per second */
  rate?: number;
  /** more sipp arguments */
  extraArgs?: string[];
  /** overall timeout; default 20 s */
  timeoutMs?: number;
  /** target; default 198.18.0.1:5060 */
  remote?: string;
}

/**
 * Run sipp as a client on a lab host. sipp exits 0 when every call succeeded,
 * 1 when at least one failed. Runs in a temp dir (sipp may write *_errors.log).
 */
export async function runSipp(host: Exclude<LabHost, 'pbx'>, o: SippOptions): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-sipp-'));
  try {
    const args = ['-sf', o.scenario.startsWith('/') ? o.scenario : join(SIPP_DIR, o.scenario)];
    if (o.csv !== undefined) {
      writeFileSync(join(dir, 'inf.csv'), o.csv);
      args.push('-inf', join(dir, 'inf.csv'));
    }
    if (o.service) args.push('-s', o.service);
    const port = o.localPort ?? 5000 + Number(host.slice(1));
    args.push('-i', IP[host], '-p', String(port), '-m', String(o.calls ?? 1), '-nostdin');
    if (o.rate) args.push('-r', String(o.rate));
    const timeoutMs = o.timeoutMs ?? 20_000;
    args.push('-timeout', String(Math.max(1, Math.floor(timeoutMs / 1000) - 1)), ...(o.extraArgs ?? []));
    args.push(o.remote ?? `${IP.pbx}:${SIP_PORT}`);
    return await inNs(host, 'sipp', args, { cwd: dir, timeoutMs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CSV for register_auth.xml / uac_auth_call.xml: one account with a password. */
export function authCsv(account: string, password: string): string {
  return `SEQUENTIAL\n${account};[authentication username=${account} password=${password}]\n`;
}

export interface AmiRecorder {
  /** resolves once the AMI login was accepted */
  ready: Promise<void>;
  /** stop recording; resolves with every byte received (greeting, login response, events) */
  stop(): Promise<string>;
  /** the bytes recorded so far, while recording goes on */
  peek(): string;
}

/**
 * Record raw AMI traffic (scripts/lab/record-ami.mjs, run inside the pbx namespace):
 * login as the lab's sipwarden user with `Events: <events>` (default 'security,call').
 */
export function amiRecorder(opts: { events?: string; timeoutMs?: number; actions?: string[] } = {}): AmiRecorder {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ami-'));
  const out = join(dir, 'capture.ami');
  const args = [RECORD_AMI, '--out', out, '--events', opts.events ?? 'security,call'];
  args.push('--timeout', String(Math.ceil((opts.timeoutMs ?? 120_000) / 1000)));
  for (const a of opts.actions ?? []) args.push('--action', a);
  const child = spawnInNs('pbx', process.execPath, args);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const ready = new Promise<void>((res, rej) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('READY')) res();
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => rej(new Error(`AMI recorder exited (${code}) before login: ${stderr}`)));
  });
  ready.catch(() => undefined);
  return {
    ready,
    peek() {
      try {
        return readFileSync(out, 'latin1');
      } catch {
        return '';
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      try {
        return existsSync(out) ? readFileSync(out, 'latin1') : '';
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Watch the PBX's nftables for new set elements (`nft monitor new elements`, bounded
 * by `timeout`): when each element line reached this process, in ms since the epoch.
 * Late by the pipe and the scheduler, never early: good for "in the kernel by".
 */
export function kernelElementWatch(timeoutMs = 60_000): { ready: Promise<void>; seenAt(elem: string): number | undefined; stop(): Promise<void> } {
  const child = spawnInNs('pbx', 'timeout', [String(Math.ceil(timeoutMs / 1000)), 'nft', 'monitor', 'new', 'elements']);
  const seen = new Map<string, number>();
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    const at = performance.timeOrigin + performance.now();
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) for (const m of l.matchAll(/\{ ([^}]*) \}/g)) for (const e of m[1]!.split(',')) {
      const elem = e.trim().split(' ')[0]!;
      if (!seen.has(elem)) seen.set(elem, at);
    }
  });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  // nft subscribes to netlink right after it starts; there is no line to wait for.
  const ready = new Promise<void>((res, rej) => {
    child.once('error', rej);
    child.once('spawn', () => setTimeout(res, 300));
  });
  return {
    ready,
    seenAt: (elem) => seen.get(elem),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A unix-socket bridge to the lab's AMI, so code running in the test process (host
 * namespace) can talk AMI: `net.connect(proxy.path)`. Runs a tiny node relay inside
 * the pbx namespace (pathname unix sockets work across network namespaces).
 */
export async function startAmiProxy(): Promise<{ path: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-amiproxy-'));
  const path = join(dir, 'ami.sock');
  const relay = `
    const net = require('node:net');
    const srv = net.createServer((c) => {
      const u = net.connect(${AMI.port}, '${AMI.host}');
      c.pipe(u); u.pipe(c);
      const end = () => { c.destroy(); u.destroy(); };
      c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    });
    srv.listen(process.argv[1], () => console.log('LISTENING'));
    process.on('SIGTERM', () => { srv.close(); process.exit(0); });`;
  const child = spawnInNs('pbx', process.execPath, ['-e', relay, path]);
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('AMI proxy did not start within 10 s')), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('LISTENING')) {
        clearTimeout(t);
        res();
      }
    });
    child.once('close', (code) => {
      clearTimeout(t);
      rej(new Error(`AMI proxy exited (${code})`));
    });
  });
  return {
    path,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const closed = new Promise<void>((r) => child.once('close', () => r()));
        child.kill('SIGTERM');
        await closed;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Split a raw AMI byte stream into frames of key/value pairs (the greeting line is skipped). Test-only, minimal. */
export function parseAmiFrames(raw: string): Array<Record<string, string>> {
  const frames: Array<Record<string, string>> = [];
  const body = raw.replace(/^Asterisk Call Manager\/[^\r\n]*\r\n/, '');
  for (const block of body.split('\r\n\r\n')) {
    if (!block.trim()) continue;
    const f: Record<string, string> = {};
    for (const line of block.split('\r\n')) {
      const i = line.indexOf(': ');
      if (i > 0) f[line.slice(0, i)] = line.slice(i + 2);
    }
    frames.push(f);
  }
  return frames;
}

/** Poll `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * In a mocha `before`: skips the suite, saying why, when the lab cannot run
 * here (not root, no chroot, a tool missing). With SIPWARDEN_LAB_REQUIRED=1
 * that is a failure instead.
 */
export function skipWithoutLab(ctx: Mocha.Context, ...tools: string[]): void {
  const a = labAvailable();
  const missing = a.ok ? missingTools(...tools) : [];
  const why = a.ok ? (missing.length ? `missing tools: ${missing.join(', ')}` : undefined) : a.why;
  if (!why) return;
  if (process.env.SIPWARDEN_LAB_REQUIRED === '1') throw new Error(`lab not available: ${why}`);
  console.log(`      (lab skipped: ${why})`);
  ctx.skip();
}
