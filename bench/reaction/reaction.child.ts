// Reaction time: from the threshold-crossing event entering the AMI socket to
// the address being in the kernel set. A fake AMI server (TCP, 127.0.0.1)
// feeds the real AmiClient -> Pipeline (default rules) -> NftablesResponder.
// Each source first sends 4 failures (below the 5-in-60 s limit), then, one
// source at a time, the 5th: t0 = just before socket.write of the 5th event,
// t1 = NftablesResponder.apply() resolved (the nft transaction committed).
// The decision's own time (t0 to the policy's decision) is kept too: the rest
// of t1 - t0 is nft's (the line to `nft -i`, its netlink transaction, the answer).
// The set is then checked with `nft get element` for a sample and counted.
// Re-executes itself inside `unshare -n` (root): the host ruleset is never touched.
// Prints one JSON line. Usage: node --import tsx reaction.child.ts [bans=1000]
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../src/config/load.ts';
import { AmiClient } from '../../src/sources/ami/client.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { NftablesResponder } from '../../src/respond/nftables.ts';
import { runCommand } from '../../src/respond/run-command.ts';
import type { Decision } from '../../src/domain/types.ts';
import { amiText, eventTv, ipv4, remoteOf, templates } from '../lib/workload.ts';
import { NODE_COMMAND_LINE_OPTIONS, applyCompilerOptions } from '../../src/ops/runtime.ts';

// The service's V8 compiler options, as every node process of the bench (src/ops/runtime.ts).
applyCompilerOptions();

const BANS = Math.max(1, Math.min(60_000, Number(process.argv[2] ?? 1000)));
if (process.env['SW_BENCH_IN_NS'] !== '1') {
  const r = spawnSync('unshare', ['-n', '--', process.execPath, ...NODE_COMMAND_LINE_OPTIONS, '--import', 'tsx', fileURLToPath(import.meta.url), String(BANS)], { stdio: 'inherit', env: { ...process.env, SW_BENCH_IN_NS: '1' } });
  process.exit(r.status ?? 1);
}
await runCommand('ip', ['link', 'set', 'lo', 'up']);

const crf = templates().crf;
let sock: net.Socket | undefined;
const server = net.createServer((s) => {
  // As Asterisk does: it sets TCP_NODELAY on every manager connection. Without it, the
  // kernel held an event behind an unacknowledged one for the peer's delayed ACK (~40 ms).
  s.setNoDelay(true);
  s.write('Asterisk Call Manager/11.0.0\r\n');
  s.on('data', (d: Buffer) => {
    const id = /ActionID: ([^\r]+)/.exec(d.toString('latin1'));
    if (/Action: Login/i.test(d.toString('latin1')) && id) {
      s.write(`Response: Success\r\nActionID: ${id[1]}\r\nMessage: Authentication accepted\r\n\r\n`);
      sock = s;
    } else if (id) s.write(`Response: Success\r\nActionID: ${id[1]}\r\nPing: Pong\r\n\r\n`);
  });
  s.on('error', () => {});
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as net.AddressInfo).port;

const config = loadConfig(DEFAULT_CONFIG_PATH);
const log = pino({ level: 'silent' });
const client = new AmiClient({ host: '127.0.0.1', port, username: 'sipwarden', secret: 'x', logger: log });
const pipeline = new Pipeline(config, { dryRun: false });
const nft = new NftablesResponder({ logger: log, conntrack: false });
await nft.init();
const t0 = new Map<string, number>();
const lat: number[] = [];
const toDecision: number[] = [];
const done = new Map<string, () => void>();
let applied = 0;
pipeline.decisions$.subscribe((d: Decision) => {
  if (d.action !== 'ban-ip' || !d.target.ip) return;
  const ip = d.target.ip;
  const s0 = t0.get(ip);
  if (s0 !== undefined) toDecision.push(performance.now() - s0);
  void nft.apply(d).then(() => {
    if (s0 !== undefined) lat.push(performance.now() - s0);
    applied++;
    done.get(ip)?.();
  });
});
client.frames$.subscribe((f) => pipeline.push(f));
client.start();
for (let i = 0; i < 200 && sock === undefined; i++) await new Promise((r) => setTimeout(r, 10));
if (!sock) throw new Error('client did not log in');
const s: net.Socket = sock;

let seq = 0;
const ev = (i: number, k: number) => amiText(crf, { tv: eventTv(Date.now()), account: '1001', session: `${i}-${k}`, remote: remoteOf({ family: 4, ip: ipv4(i + 256) }), response: (++seq).toString(16).padStart(32, '0') });
// 4 failures from every source first (no ban yet).
for (let i = 0; i < BANS; i += 500) {
  let text = '';
  for (let j = i; j < Math.min(BANS, i + 500); j++) for (let k = 0; k < 4; k++) text += ev(j, k);
  s.write(text);
}
await new Promise((r) => setTimeout(r, 500));
// The 5th, one source at a time, 2 ms apart at most (a storm, not a burst).
for (let i = 0; i < BANS; i++) {
  const ip = ipv4(i + 256);
  const wait = new Promise<void>((r) => done.set(ip, r));
  const text = ev(i, 4);
  t0.set(ip, performance.now());
  s.write(text);
  await Promise.race([wait, new Promise((r) => setTimeout(r, 2000))]);
}
await nft.flush();
// Check the kernel: a sample with `nft get element`, then the count.
let sampled = 0;
for (let i = 0; i < BANS; i += Math.max(1, Math.floor(BANS / 20))) {
  const r = await runCommand('nft', ['get', 'element', 'inet', 'sipwarden', 'ban4', `{ ${ipv4(i + 256)} }`]);
  if (r.code === 0) sampled++;
}
const list = await runCommand('nft', ['-j', 'list', 'set', 'inet', 'sipwarden', 'ban4']);
const doc = JSON.parse(list.stdout) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
const inSet = doc.nftables.find((x) => x.set)?.set?.elem?.length ?? 0;
const percentile = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const pct = percentile(lat);
const dec = percentile(toDecision);
console.log(JSON.stringify({ bans: BANS, measured: lat.length, applied, inSet, sampleChecked: Math.ceil(BANS / Math.max(1, Math.floor(BANS / 20))), sampleInSet: sampled, p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100), decisionP50: dec(50), decisionP99: dec(99), decisionMax: dec(100), kernel: spawnSync('uname', ['-r']).stdout.toString().trim() }));
await client.stop();
await nft.shutdown();
server.close();
process.exit(0);
