// `sipwarden doctor`: is protection actually working on this host? Each check
// gives one line and, when something is wrong, the fix. Every AMI probe is
// harmless: reads, a DBPut/DBDel of sipwarden's own doctor key, a Hangup of a
// channel that cannot exist, and one failed login from loopback (never banned).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { filter, firstValueFrom, timeout as rxTimeout } from 'rxjs';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../config/config.ts';
import { loadConfig } from '../config/load.ts';
import type { AmiFrame } from '../domain/types.ts';
import { AmiClient, type AmiResponse, type ConnectionState } from '../sources/ami/client.ts';
import { header } from '../sources/ami/framer.ts';
import type { AmiAction } from '../sources/ami/encode.ts';
import { escapeText } from '../console/escape.ts';
import { runCommand, netnsArgv, type ExecResult } from '../respond/run-command.ts';
import { capabilityProblem, needsNetAdmin, readCaps, stateDirProblem, type CapSets } from './preflight.ts';

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly id: string;
  readonly status: Status;
  /** What was found (one line). */
  readonly detail: string;
  /** How to fix it (for warn/fail). */
  readonly fix?: string;
}

export type DoctorExec = (file: string, args: readonly string[]) => Promise<ExecResult>;

export interface DoctorOptions {
  readonly configPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly exec?: DoctorExec;
  readonly caps?: CapSets | null;
  /** How long to wait for the test security event. Default 5 s. */
  readonly eventTimeoutMs?: number;
  /** Connect + login deadline. Default 8 s. */
  readonly connectTimeoutMs?: number;
  /** Called as each check completes (the CLI prints as it goes). */
  readonly onResult?: (r: CheckResult) => void;
}

/** Write actions sipwarden sends, and what breaks without each. */
const WRITE_NEEDS: ReadonlyArray<{ action: string; why: string; when?: (c: Config) => boolean; warnOnly?: boolean }> = [
  { action: 'Hangup', why: 'hang up fraudulent calls' },
  { action: 'DBPut', why: 'AstDB blocks and the heartbeat' },
  { action: 'DBDel', why: 'lift AstDB blocks' },
  { action: 'DBGet', why: 'read AstDB' },
  { action: 'CoreShowChannels', why: 're-learn calls in progress after a restart' },
  { action: 'PJSIPShowEndpoints', why: 'trunk discovery', when: (c) => c.trunks.discover },
  { action: 'PJSIPShowEndpoint', why: 'trunk discovery', when: (c) => c.trunks.discover },
  { action: 'PJSIPShowRegistrationsOutbound', why: 'trunk discovery', when: (c) => c.trunks.discover },
  { action: 'Reload', why: 'reload the Asterisk ACL', when: (c) => c.asterisk.acl.enabled },
  // Only in 20.20+, 22.10+, 23.4+: without it account blocks rely on AstDB + the dialplan include.
  { action: 'PJSIPSetMaintenance', why: 'maintenance-mode account blocks', when: (c) => c.asterisk.maintenanceBlock, warnOnly: true },
];

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function classesOf(text: string): Set<string> {
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** `read = ...` of the user's manager.conf section, as GetConfig returns it (the last line wins, as in Asterisk). */
export function permFromGetConfig(frame: AmiFrame, key: 'read' | 'write'): string | undefined {
  let value: string | undefined;
  for (const [k, v] of frame.headers) {
    if (!/^Line-\d+-\d+$/.test(k)) continue;
    const i = v.indexOf('=');
    if (i > 0 && v.slice(0, i).trim().toLowerCase() === key) value = v.slice(i + 1).trim();
  }
  return value;
}

/** Action names of a ListCommands response (only those the user's write classes allow). */
export function listedActions(frame: AmiFrame): Set<string> {
  const skip = new Set(['response', 'actionid', 'message']);
  return new Set(frame.headers.map(([k]) => k).filter((k) => !skip.has(k.toLowerCase())));
}

export function parseAsteriskVersion(v: string): [number, number, number] | null {
  const m = /^(?:GIT-)?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const defaultExec: DoctorExec = (file, args) => runCommand(file, args, undefined, { timeoutMs: 10_000, maxOutputBytes: 1 << 20 });

function firstLine(s: string): string {
  return escapeText(s.trim().split('\n')[0] ?? '', 160);
}

/** Runs every check; the array is also streamed through onResult. */
export async function runDoctor(opts: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  const exec = opts.exec ?? defaultExec;

  // 1. config
  let cfg: Config;
  try {
    cfg = loadConfig(opts.configPath, opts.env ?? process.env);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    add({ id: 'config', status: 'fail', detail: `${opts.configPath}: ${escapeText(problems, 300)}`, fix: `fix the file (sipwarden check-config ${opts.configPath}); the other checks need a valid config` });
    return results;
  }
  add({ id: 'config', status: 'ok', detail: `${opts.configPath}: valid (${cfg.rules.length} rules, mode ${cfg.mode}, firewall ${cfg.firewall.backend})` });
  if (cfg.ami.secret === '' || cfg.ami.secret === 'change-me') {
    add({ id: 'config', status: 'warn', detail: `ami.secret is ${cfg.ami.secret ? 'the example value "change-me"' : 'empty'}`, fix: 'set ami.secret (or SIPWARDEN_AMI_SECRET in /etc/sipwarden/sipwarden.env) to the AMI user\'s secret' });
  }

  // 2. state dir
  const sd = stateDirProblem(cfg.stateDir, opts.configPath);
  add(sd ? { id: 'state-dir', status: 'fail', detail: sd.split(': ')[0] ?? sd, fix: sd.slice(sd.indexOf(': ') + 2) } : { id: 'state-dir', status: 'ok', detail: `${cfg.stateDir} is writable` });

  // 3. firewall: capabilities and tools
  await checkFirewall(cfg, exec, opts.caps === undefined ? readCaps() : opts.caps, add);

  // 4. AMI
  await checkAmi(cfg, opts, add);
  return results;
}

async function checkFirewall(cfg: Config, exec: DoctorExec, caps: CapSets | null, add: (r: CheckResult) => void): Promise<void> {
  if (!needsNetAdmin(cfg, false)) {
    add({ id: 'firewall', status: cfg.firewall.backend === 'none' ? 'warn' : 'skip', detail: cfg.firewall.backend === 'none' ? 'firewall.backend is "none": no kernel bans, Asterisk-side blocks only' : 'mode dry-run: the firewall is not touched', ...(cfg.firewall.backend === 'none' ? { fix: 'set firewall.backend to "nftables" (or "iptables") for kernel bans' } : {}) });
    return;
  }
  const capProblem = capabilityProblem(cfg, false, caps);
  if (capProblem) add({ id: 'capabilities', status: 'fail', detail: capProblem.slice(0, capProblem.indexOf(': ')), fix: capProblem.slice(capProblem.indexOf(': ') + 2) });
  else if (caps) add({ id: 'capabilities', status: 'ok', detail: caps.uid === 0 ? 'root: firewall tools get CAP_NET_ADMIN' : `uid ${caps.uid} with CAP_NET_ADMIN ambient: firewall tools inherit it` });

  const ns = cfg.firewall.netns;
  const tool = async (file: string, args: string[]): Promise<ExecResult | 'missing' | Error> => {
    const [f, a] = netnsArgv(file, args, ns);
    try {
      const r = await exec(f, a);
      // `ip netns exec` reports a missing tool itself.
      if (ns && r.code !== 0 && /No such file or directory/.test(r.stderr) && r.stderr.includes(file)) return 'missing';
      return r;
    } catch (err) {
      return (err as Error).name === 'MissingToolError' ? 'missing' : (err as Error);
    }
  };
  const judge = (id: string, what: string, r: ExecResult | 'missing' | Error, pkg: string, level: 'fail' | 'warn', consequence: string): boolean => {
    if (r === 'missing') {
      add({ id, status: level, detail: `${what}: not installed${consequence}`, fix: `apt-get install ${pkg} (or your distribution's package)` });
      return false;
    }
    if (r instanceof Error) {
      add({ id, status: level, detail: `${what}: ${firstLine(r.message)}${consequence}`, fix: 'see the error above' });
      return false;
    }
    if (r.code !== 0) {
      const perm = /Operation not permitted|Permission denied|must be root/i.test(r.stderr);
      add({ id, status: level, detail: `${what}: exit ${r.code}: ${firstLine(r.stderr || r.stdout)}${consequence}`, fix: perm ? 'grant CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_ADMIN) or run as root' : `check that ${pkg} works on this kernel` });
      return false;
    }
    return true;
  };

  const noBans = '; NO KERNEL BANS';
  if (cfg.firewall.backend === 'nftables') {
    const r = await tool('nft', ['list', 'tables']);
    if (judge('nft', '`nft list tables`', r, 'nftables', 'fail', noBans)) add({ id: 'nft', status: 'ok', detail: '`nft list tables` works' + (/inet sipwarden/.test((r as ExecResult).stdout) ? ' (table inet sipwarden present)' : '') });
  } else {
    const r = await tool('iptables', ['-w', '-t', 'raw', '-S', 'PREROUTING']);
    if (judge('iptables', '`iptables -t raw -S`', r, 'iptables', 'fail', noBans)) add({ id: 'iptables', status: 'ok', detail: '`iptables -t raw -S PREROUTING` works' });
    const s = await tool('ipset', ['list', '-n']);
    if (judge('ipset', '`ipset list -n`', s, 'ipset', 'fail', noBans)) add({ id: 'ipset', status: 'ok', detail: '`ipset list -n` works' });
  }
  if (cfg.firewall.flushConntrack) {
    // A TEST-NET-1 source: nothing is listed, but the netlink permission is exercised.
    const r = await tool('conntrack', ['-L', '-s', '192.0.2.1']);
    if (judge('conntrack', '`conntrack -L`', r, 'conntrack', 'warn', ': tracked UDP flows of a banned source are not cut (the drop rules still hold)')) add({ id: 'conntrack', status: 'ok', detail: '`conntrack -L` works' });
  }
  if (cfg.scannerDrop.enabled) {
    // -C only checks for a rule: "Bad rule" (exit 1) means the string match loaded fine.
    const r = await tool('iptables', ['-w', '-t', 'raw', '-C', 'PREROUTING', '-p', 'udp', '-m', 'string', '--string', 'sipwarden-doctor', '--algo', 'bm', '-j', 'DROP']);
    const fine = r !== 'missing' && !(r instanceof Error) && (r.code === 0 || /Bad rule|does a matching rule exist/i.test(r.stderr));
    if (fine) add({ id: 'scanner-drop', status: 'ok', detail: 'iptables string match available (scanner User-Agent drop)' });
    else judge('scanner-drop', 'iptables string match', r, 'iptables', 'warn', ': known scanner User-Agents are not dropped (bans still work)');
  }
}

interface Session {
  readonly client: AmiClient;
  readonly frames: AmiFrame[];
}

async function connect(cfg: Config, connectTimeoutMs: number): Promise<{ session?: Session; state: ConnectionState }> {
  const client = new AmiClient({
    host: cfg.ami.host,
    port: cfg.ami.port,
    username: cfg.ami.username,
    secret: cfg.ami.secret,
    events: cfg.ami.events,
    actionTimeoutMs: cfg.ami.actionTimeoutMs,
    connectTimeoutMs,
    authFailedRetryMs: 0,
    reconnect: { initialMs: 60_000, maxMs: 60_000, jitter: 'none' },
    logger: pino({ level: 'silent' }),
  });
  const frames: AmiFrame[] = [];
  const sub = client.frames$.subscribe((f) => frames.push(f));
  client.start();
  let state: ConnectionState;
  try {
    state = await firstValueFrom(
      client.state$.pipe(
        filter((s) => s.attempt >= 1 && s.status !== 'connecting'),
        rxTimeout(connectTimeoutMs + 2000),
      ),
    );
  } catch {
    state = { status: 'disconnected', attempt: 1, reason: `no answer within ${connectTimeoutMs} ms`, since: Date.now() };
  }
  if (state.status === 'connected') return { session: { client, frames }, state };
  sub.unsubscribe();
  await client.stop();
  return { state };
}

async function act(s: Session, a: AmiAction): Promise<AmiResponse | Error> {
  try {
    return await s.client.action(a);
  } catch (err) {
    return err as Error;
  }
}

const msg = (r: AmiResponse | Error): string => (r instanceof Error ? r.message : (header(r.response, 'Message') ?? ''));

async function checkAmi(cfg: Config, opts: DoctorOptions, add: (r: CheckResult) => void): Promise<void> {
  const a = cfg.ami;
  const where = `${a.host}:${a.port}`;
  const { session, state } = await connect(cfg, opts.connectTimeoutMs ?? 8000);
  if (!session) {
    const reason = escapeText(state.reason ?? state.status, 200);
    if (state.status === 'auth-failed') {
      add({ id: 'ami-reach', status: 'ok', detail: `AMI answers at ${where}` });
      add({ id: 'ami-login', status: 'fail', detail: `login as "${escapeText(a.username, 40)}" refused (${reason.replace(/; not retrying.*$/, '')})`, fix: `make ami.username/ami.secret (or SIPWARDEN_AMI_SECRET) match the [${escapeText(a.username, 40)}] section of manager.conf (FreePBX: manager_custom.conf), check its permit= covers this host, then "manager reload"` });
    } else {
      add({ id: 'ami-reach', status: 'fail', detail: `cannot reach AMI at ${where}: ${reason}`, fix: `is Asterisk running? enable AMI in manager.conf ([general] enabled = yes, port = ${a.port}, bindaddr = 127.0.0.1), then "manager reload"; or fix ami.host/ami.port` });
    }
    add({ id: 'ami', status: 'skip', detail: 'AMI privilege, version, security event and dialplan checks need a working login' });
    return;
  }
  add({ id: 'ami-reach', status: 'ok', detail: `AMI answers at ${where} (${escapeText(state.greeting ?? 'no greeting', 60)})` });
  add({ id: 'ami-login', status: 'ok', detail: `logged in as "${escapeText(a.username, 40)}"` });
  try {
    await amiChecks(cfg, session, opts, add);
  } finally {
    await session.client.stop();
  }
}

async function amiChecks(cfg: Config, s: Session, opts: DoctorOptions, add: (r: CheckResult) => void): Promise<void> {
  const user = escapeText(cfg.ami.username, 40);

  // Version
  const core = await act(s, { Action: 'CoreSettings' });
  if (!(core instanceof Error) && core.ok) {
    const v = header(core.response, 'AsteriskVersion') ?? '?';
    const parsed = parseAsteriskVersion(v);
    const old = parsed && parsed[0] < 18;
    add({ id: 'asterisk', status: old ? 'warn' : 'ok', detail: `Asterisk ${escapeText(v, 60)} (AMI ${escapeText(header(core.response, 'AMIversion') ?? '?', 20)})`, ...(old ? { fix: 'sipwarden is tested with Asterisk 20-22 (PJSIP security events); upgrade Asterisk' } : {}) });
  } else add({ id: 'asterisk', status: 'warn', detail: `CoreSettings failed: ${escapeText(msg(core), 100)}`, fix: 'grant write = system to the AMI user' });

  // Write classes: ListCommands lists only the actions the user's write classes allow.
  const list = await act(s, { Action: 'ListCommands' });
  if (list instanceof Error || !list.ok) {
    add({ id: 'ami-write', status: 'fail', detail: `ListCommands failed: ${escapeText(msg(list), 100)}`, fix: 'check the AMI user in manager.conf' });
  } else {
    const allowed = listedActions(list.response);
    const needed = WRITE_NEEDS.filter((n) => !n.when || n.when(cfg));
    const missing = needed.filter((n) => !n.warnOnly && !allowed.has(n.action));
    const missingWarn = needed.filter((n) => n.warnOnly && !allowed.has(n.action));
    if (missing.length) {
      add({ id: 'ami-write', status: 'fail', detail: `user "${user}" may not send ${missing.map((n) => `${n.action} (${n.why})`).join(', ')}`, fix: `set write = system in [${user}] of manager.conf (FreePBX: manager_custom.conf), then "manager reload"` });
    } else add({ id: 'ami-write', status: 'ok', detail: `user "${user}" may send ${needed.filter((n) => allowed.has(n.action)).map((n) => n.action).join(', ')}` });
    for (const n of missingWarn) add({ id: 'ami-write', status: 'warn', detail: `${n.action} not available (${n.why}): Asterisk older than 20.20/22.10/23.4, or no write = system`, fix: 'upgrade Asterisk, or set asterisk.maintenanceBlock: false; blocks then rely on AstDB and the dialplan include' });
    if (allowed.has('Command')) add({ id: 'ami-write', status: 'warn', detail: `user "${user}" has the "command" class: any CLI command, root-equivalent; sipwarden never uses it`, fix: `remove "command" from write = in [${user}] (write = system is enough)` });
  }

  // Functional write test: a key of our own family, then gone again.
  const fam = cfg.asterisk.astdbFamily;
  const val = String(Math.floor(Date.now() / 1000));
  const put = await act(s, { Action: 'DBPut', Family: fam, Key: 'doctor/ts', Val: val });
  const got = await act(s, { Action: 'DBGet', Family: fam, Key: 'doctor/ts' });
  const del = await act(s, { Action: 'DBDel', Family: fam, Key: 'doctor/ts' });
  const gotVal = got instanceof Error || !got.ok ? undefined : (got.events.map((e) => header(e, 'Val')).find((v) => v !== undefined) ?? header(got.response, 'Val'));
  if (!(put instanceof Error) && put.ok && gotVal === val && !(del instanceof Error) && del.ok) add({ id: 'astdb', status: 'ok', detail: `AstDB write works (DBPut/DBGet/DBDel ${escapeText(fam, 30)}/doctor/ts)` });
  else add({ id: 'astdb', status: 'fail', detail: `AstDB test failed: DBPut ${escapeText(msg(put) || 'ok', 60)}, DBGet ${gotVal === val ? 'ok' : escapeText(msg(got) || 'mismatch', 60)}, DBDel ${escapeText(msg(del) || 'ok', 60)}`, fix: `set write = system in [${user}] of manager.conf, then "manager reload"` });

  // Hangup of a channel that cannot exist: "No such channel" proves the privilege, nothing is hung up.
  const hang = await act(s, { Action: 'Hangup', Channel: `PJSIP/sipwarden-doctor-${randomBytes(4).toString('hex')}` });
  const hm = msg(hang);
  if (/no such channel/i.test(hm)) add({ id: 'hangup', status: 'ok', detail: 'Hangup allowed (tested on a channel that does not exist)' });
  else add({ id: 'hangup', status: 'fail', detail: `Hangup test: ${escapeText(hm || 'unexpected answer', 80)}`, fix: `set write = system in [${user}] of manager.conf, then "manager reload"` });

  // Read classes: the user's own manager.conf section through GetConfig (write = system allows it;
  // includes such as FreePBX's manager_custom.conf are followed). Only read=/write= are looked at.
  const gc = await act(s, { Action: 'GetConfig', Filename: 'manager.conf', Category: cfg.ami.username });
  const readText = gc instanceof Error || !gc.ok ? undefined : permFromGetConfig(gc.response, 'read');
  const mask = classesOf(cfg.ami.events);
  if (readText === undefined) {
    add({ id: 'ami-read', status: 'warn', detail: `could not read [${user}] from manager.conf over AMI (${escapeText(msg(gc) || 'section not found', 80)}); read classes unverified`, fix: `make sure [${user}] has read = security,call,dialplan` });
  } else {
    const read = classesOf(readText);
    const hasCls = (c: string) => read.has(c) || read.has('all');
    const lacking = ['security', 'call'].filter((c) => !hasCls(c));
    if (lacking.length) add({ id: 'ami-read', status: 'fail', detail: `user "${user}" has read = ${escapeText(readText, 60)}: no ${lacking.join(', ')} (${lacking.includes('security') ? 'no attack events' : 'the toll-fraud guard is blind'})`, fix: `set read = security,call,dialplan in [${user}] of manager.conf (FreePBX: manager_custom.conf), then "manager reload"` });
    else if (!hasCls('dialplan')) add({ id: 'ami-read', status: 'warn', detail: `user "${user}" has read = ${escapeText(readText, 60)}: no dialplan (Newexten: what calls dial)`, fix: `set read = security,call,dialplan in [${user}], then "manager reload"` });
    else add({ id: 'ami-read', status: 'ok', detail: `user "${user}" has read = ${escapeText(readText, 60)}` });
  }
  const maskLacks = ['security', 'call'].filter((c) => !mask.has(c) && !mask.has('on') && !mask.has('all'));
  if (maskLacks.length) add({ id: 'ami-events', status: 'fail', detail: `ami.events "${escapeText(cfg.ami.events, 60)}" does not ask for ${maskLacks.join(', ')}`, fix: 'set ami.events to "security,call,dialplan" (the default)' });

  // Security events really arrive: a failed login of a user that cannot exist, from loopback.
  if (LOOPBACK.test(cfg.ami.host)) {
    const probeUser = `sipwarden-doctor-${randomBytes(3).toString('hex')}`;
    const start = Date.now();
    const seen = waitForFrame(s, (f) => header(f, 'Privilege')?.startsWith('security') === true && header(f, 'AccountID') === probeUser, opts.eventTimeoutMs ?? 5000);
    await probeLogin(cfg.ami.host, cfg.ami.port, probeUser).catch(() => {});
    const ev = await seen;
    if (ev) add({ id: 'security-events', status: 'ok', detail: `security events arrive: ${escapeText(header(ev, 'Event') ?? '?', 30)} for a test login from loopback after ${Date.now() - start} ms` });
    else add({ id: 'security-events', status: 'fail', detail: `no security event within ${opts.eventTimeoutMs ?? 5000} ms after a test login with a wrong user: sipwarden would see no attacks`, fix: `set read = security in [${user}] and keep "security" in ami.events; check that Asterisk's security events are not disabled` });
  } else {
    add({ id: 'security-events', status: 'warn', detail: `not tested: AMI at ${escapeText(cfg.ami.host, 60)} is not loopback, and a test login failure from this host could be counted as an attack`, fix: 'run sipwarden (and doctor) on the PBX itself, or watch `sipwarden run` for security events' });
  }

  // The dialplan include. ShowDialPlan needs write = config or reporting; without them,
  // GetConfig shows whether extensions.conf (with its includes) defines the context.
  const ctx = 'sipwarden-outbound';
  const sdp = await act(s, { Action: 'ShowDialPlan', Context: ctx });
  if (!(sdp instanceof Error) && sdp.ok) add({ id: 'dialplan', status: 'ok', detail: `context ${ctx} is loaded (${sdp.events.length} dialplan entries)` });
  else if (/permission denied/i.test(msg(sdp))) {
    const ext = await act(s, { Action: 'GetConfig', Filename: 'extensions.conf', Category: ctx });
    const found = !(ext instanceof Error) && ext.ok && header(ext.response, 'Category-000000') === ctx;
    if (found) add({ id: 'dialplan', status: 'ok', detail: `context ${ctx} is in extensions.conf (or a file it includes); run "dialplan reload" after changing it` });
    else add({ id: 'dialplan', status: 'fail', detail: `context ${ctx} not found in extensions.conf or its includes: account blocks and toll-fraud limits are not enforced in the dialplan`, fix: 'install dialplan/sipwarden.conf and its #include (docs/dialplan.md), then "dialplan reload"' });
  } else add({ id: 'dialplan', status: 'fail', detail: `context ${ctx} is not loaded (${escapeText(msg(sdp), 80)}): account blocks and toll-fraud limits are not enforced in the dialplan`, fix: 'install dialplan/sipwarden.conf and its #include (docs/dialplan.md), then "dialplan reload"' });
}

function waitForFrame(s: Session, pred: (f: AmiFrame) => boolean, timeoutMs: number): Promise<AmiFrame | undefined> {
  return firstValueFrom(s.client.frames$.pipe(filter(pred), rxTimeout(timeoutMs))).catch(() => undefined);
}

/** One AMI login that must fail: Asterisk raises InvalidAccountID (security class). */
export function probeLogin(host: string, port: number, username: string, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const done = () => {
      clearTimeout(t);
      sock.destroy();
      resolve();
    };
    const t = setTimeout(done, timeoutMs);
    let buf = '';
    sock.on('connect', () => sock.write(`Action: Login\r\nActionID: doctor-probe\r\nUsername: ${username}\r\nSecret: ${randomBytes(8).toString('hex')}\r\n\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (/Response: \w+[\s\S]*\r\n\r\n/.test(buf)) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

const MARK: Record<Status, string> = { ok: ' OK ', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** One line per check: `[FAIL] ami-read: ... -> fix: ...`. */
export function formatResult(r: CheckResult): string {
  return `[${MARK[r.status]}] ${r.id}: ${r.detail}${r.fix && (r.status === 'fail' || r.status === 'warn') ? ` -> fix: ${r.fix}` : ''}`;
}

/** Non-zero when something blocks protection. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
