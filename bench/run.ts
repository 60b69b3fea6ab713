// `npm run bench`: the four figures of docs/performance.md, printed as a table.
//   1. throughput: raw AMI bytes -> decisions (sipwarden), vs asterisk-manager
//      0.2.0's parser and fail2ban-regex with the stock asterisk filter;
//   2. memory: 1M spoofed sources, then quiet (child process, --expose-gc);
//   3. reaction: event into the AMI socket -> address in the kernel set (unshare -n);
//   4. guesses before ban: real Asterisk + svcrack, sipwarden vs fail2ban (the lab).
// Options (env): BENCH_EVENTS (1000000), BENCH_BOTNET (100000), BENCH_MEMORY_SOURCES
// (1000000), BENCH_BANS (1000), BENCH_RUNS (5: throughput rounds, each contender once a round; medians are
// printed), BENCH_ONLY=throughput,memory,reaction,guesses.
// Parts that need root (3, 4) say why they are skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { botnetWorkload, chunks } from './lib/workload.ts';
import { runAsteriskManager, runFail2banRegex, runSipwarden, type SipwardenRun } from './throughput/throughput.ts';
import { V8_COMPILER_OPTIONS, applyCompilerOptions, withRuntimeOptions } from '../src/ops/runtime.ts';

const env = process.env;
const EVENTS = Number(env['BENCH_EVENTS'] ?? 1_000_000);
const BOTNET = Number(env['BENCH_BOTNET'] ?? 100_000);
const MEM_SOURCES = Number(env['BENCH_MEMORY_SOURCES'] ?? 1_000_000);
const BANS = Number(env['BENCH_BANS'] ?? 1000);
const RUNS = Math.max(1, Number(env['BENCH_RUNS'] ?? 5));
/** The run of median time. */
const median = <T extends { ms: number }>(runs: T[]): T => [...runs].sort((a, b) => a.ms - b.ms)[runs.length >> 1]!;
/** The median of some numbers (the upper one of an even count, as median() takes). */
const medianOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const only = new Set((env['BENCH_ONLY'] ?? 'throughput,memory,reaction,guesses').split(','));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const rows: Array<[string, string, string, string]> = [];
const row = (bench: string, what: string, value: string, target = '') => {
  rows.push([bench, what, value, target]);
  console.error(`  ${bench}: ${what} = ${value}`);
};
const k = (n: number) => Math.round(n).toLocaleString('en-US');
const ok = (pass: boolean) => (pass ? 'met' : 'NOT met');

// Every node process of the bench runs with the service's V8 options (src/ops/runtime.ts): this
// one (throughput, both JS contenders alike) re-executes itself with them, the children inherit them.
const nodeOptions = withRuntimeOptions(env['NODE_OPTIONS']);
if (env['NODE_OPTIONS'] !== nodeOptions) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...env, NODE_OPTIONS: nodeOptions } });
  process.exit(r.status ?? 1);
}

// And its compiler options, which NODE_OPTIONS cannot carry: set here, in each child the same way.
applyCompilerOptions();

console.error(`sipwarden bench: node ${process.version} (NODE_OPTIONS=${nodeOptions}), ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
row('runtime', 'node and V8 options (every node process of the bench)', `${process.version}, NODE_OPTIONS=${nodeOptions}, ${V8_COMPILER_OPTIONS.join(' ')}, ${cpus()[0]?.model ?? '?'} x${cpus().length}`);

if (only.has('throughput')) {
  for (const active of [1000, 0]) {
    console.error(`throughput: building ${k(EVENTS)} events, botnet ${k(BOTNET)} sources (${active ? `${active} active at a time` : 'uniformly random source per event'})...`);
    const w = botnetWorkload({ events: EVENTS, botnet: BOTNET, phones: 200, legitShare: 0.1, rate: 10_000, active }, active !== 0);
    const cs = chunks(w.ami);
    runSipwarden(chunks(w.ami.subarray(0, Math.min(w.ami.length, 20 << 20)))); // warm-up (JIT), 20 MB
    const tag = active ? `waves of ${active}` : 'uniform random';
    row('throughput', `workload (${tag})`, `${k(w.events)} events (${k(w.failures)} failures), ${(w.ami.length / 1048576).toFixed(0)} MB AMI`);
    // RUNS rounds (each run a fresh pipeline or process). With the peers, a round runs
    // sipwarden, asterisk-manager and fail2ban-regex back to back, and each ratio is the
    // median of the rounds' own ratios: this VM's speed drifts by tens of per cent over
    // minutes, and runs minutes apart would compare the drift, not the code.
    const logFile = active ? writeLog(w.log!) : undefined;
    const sw: SipwardenRun[] = [];
    const am: Array<{ ms: number; events: number }> = [];
    const f2b: Array<{ ms: number; lines: number; matched: number; version: string }> = [];
    let f2bError = '';
    try {
      for (let i = 0; i < RUNS; i++) {
        sw.push(runSipwarden(cs));
        if (!active) continue;
        am.push(await runAsteriskManager(cs));
        if (f2bError !== '') continue;
        console.error(`throughput: round ${i + 1}/${RUNS}: fail2ban-regex on ${k(w.events)} security.log lines (takes a while)...`);
        const f = runFail2banRegex(logFile!);
        if ('error' in f) f2bError = f.error;
        else f2b.push(f);
      }
    } finally {
      if (logFile !== undefined) rmSync(dirname(logFile), { recursive: true, force: true });
    }
    const swRates = sw.map((r) => (r.security / r.ms) * 1000);
    const s = median(sw);
    const swRate = medianOf(swRates);
    row('throughput', `sipwarden bytes->decisions (${tag})`, `${k(swRate)} events/s (median of ${RUNS} runs: ${swRates.map(k).join(', ')}; ${k(s.attempts)} attempts, ${k(s.decisions)} decisions)`, `>= 300,000/s: ${ok(swRate >= 300_000)}`);
    row('throughput', `sipwarden framer alone (${tag})`, `${k((s.frames / s.framerOnlyMs) * 1000)} frames/s`);
    if (!active) continue;
    const amRates = am.map((r) => (r.events / r.ms) * 1000);
    const amRatios = amRates.map((r, i) => swRates[i]! / r);
    row('throughput', 'asterisk-manager 0.2.0 parser alone', `${k(medianOf(amRates))} events/s (median of ${RUNS} runs: ${amRates.map(k).join(', ')}; ${k(am[0]!.events)} events)`);
    row('throughput', 'ratio sipwarden (whole path) / asterisk-manager (parser)', `${medianOf(amRatios).toFixed(2)}x (median of the rounds: ${amRatios.map((r) => r.toFixed(2)).join(', ')})`, `>= 3x: ${ok(medianOf(amRatios) >= 3)}`);
    row('throughput', 'ratio sipwarden framer / asterisk-manager parser', `${((s.frames / s.framerOnlyMs) * 1000 / medianOf(amRates)).toFixed(2)}x`);
    if (f2bError !== '') row('throughput', 'fail2ban-regex', `failed: ${f2bError}`);
    else {
      const fRates = f2b.map((f) => (f.lines / f.ms) * 1000);
      const fRatios = fRates.map((r, i) => swRates[i]! / r);
      const f = f2b[0]!;
      row('throughput', `fail2ban-regex (${f.version}, stock asterisk filter)`, `${k(medianOf(fRates))} lines/s (median of ${RUNS} runs: ${fRates.map(k).join(', ')}; ${k(f.matched)} of ${k(f.lines)} matched; ${k(w.failures)} failures in the data)`);
      row('throughput', 'ratio sipwarden / fail2ban-regex', `${medianOf(fRatios).toFixed(1)}x (median of the rounds: ${fRatios.map((r) => r.toFixed(1)).join(', ')})`, `>= 10x: ${ok(medianOf(fRatios) >= 10)}`);
    }
  }
}

/** The security.log of the workload in a fresh temporary directory, for fail2ban-regex. */
function writeLog(log: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sw-bench-')), 'security.log');
  writeFileSync(file, log);
  return file;
}

/** The memory child compiled with tsc into .bench-build/ (gitignored), or run with tsx if that fails. */
function compiledMemoryChild(): { args: string[]; what: string } {
  const root = here('..');
  const out = join(root, '.bench-build');
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  const b = spawnSync(tsc, ['-p', join(root, 'tsconfig.json'), '--outDir', out, '--noEmit', 'false'], { encoding: 'utf8' });
  if (b.status !== 0) return { args: ['--import', 'tsx', here('./memory/memory.child.ts')], what: `tsx (tsc build failed: ${(b.stdout + b.stderr).slice(0, 200)})` };
  // The build resolves the example config and the captures relative to itself.
  for (const [link, target] of [['config', '../config'], ['test/fixtures', '../../test/fixtures']] as const) {
    const at = join(out, link);
    mkdirSync(dirname(at), { recursive: true });
    if (!existsSync(at)) symlinkSync(target, at);
  }
  return { args: [join(out, 'bench', 'memory', 'memory.child.js')], what: 'tsc build (.bench-build/), as deployed' };
}

if (only.has('memory')) {
  console.error(`memory: ${k(MEM_SOURCES)} spoofed sources in a child process...`);
  // Measured on the tsc build, as the service runs from dist/ (tsx's loader alone adds ~35 MB of RSS).
  const child = compiledMemoryChild();
  const r = spawnSync(process.execPath, ['--expose-gc', ...child.args, String(MEM_SOURCES)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  row('memory', 'code measured', child.what);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const m = JSON.parse(line) as Record<string, number>;
    row('memory', 'sources (one failure each), decisions', `${k(m['sources']!)} sources, ${k(m['decisions']!)} decisions (subnet rule)`);
    row('memory', 'peak RSS (baseline)', `${m['peakRssMB']} MB (baseline ${m['baselineMB']} MB; peak heap ${m['peakHeapMB']} MB; ${k(m['keysAtEnd']!)} detector keys, ${k(m['dedupeKeysAtEnd']!)} retransmit keys)`, `<= 200 MB: ${ok(m['peakRssMB']! <= 200)}`);
    row('memory', 'after the windows expired (gc)', `RSS ${m['quietRssMB']} MB, heap ${m['quietHeapMB']} MB, ${k(m['keysAfterQuiet']!)} detector keys, ${k(m['dedupeKeysAfterQuiet']!)} retransmit keys`, `back down: ${ok(m['quietHeapMB']! < m['afterFloodGcHeapMB']! / 2)} (heap)`);
  } catch {
    row('memory', 'failed', `${r.status} ${r.stderr.slice(-400)}`);
  }
}

if (only.has('reaction')) {
  if (process.getuid?.() !== 0) row('reaction', 'skipped', 'needs root (unshare -n, nft)');
  else {
    console.error(`reaction: ${k(BANS)} bans through a fake AMI server inside unshare -n...`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', here('./reaction/reaction.child.ts'), String(BANS)], { encoding: 'utf8', timeout: 600_000 });
    try {
      const m = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, number>;
      row('reaction', `event -> in kernel set (${k(m['measured']!)} bans, kernel ${m['kernel']})`, `p50 ${m['p50']!.toFixed(2)} ms, p90 ${m['p90']!.toFixed(2)} ms, p99 ${m['p99']!.toFixed(2)} ms, max ${m['max']!.toFixed(2)} ms`, `p99 <= 5 ms: ${ok(m['p99']! <= 5)}`);
      row('reaction', 'checked in the kernel', `${k(m['inSet']!)} in set ban4; sample ${m['sampleInSet']}/${m['sampleChecked']} by nft get element`);
    } catch {
      row('reaction', 'failed', `${r.status} ${r.stderr.slice(-400)}`);
    }
  }
}

if (only.has('guesses')) {
  console.error('guesses: real Asterisk lab + svcrack, sipwarden vs fail2ban (about a minute)...');
  const { guessesBench } = await import('./guesses/guesses.ts');
  const g = await guessesBench();
  if ('skipped' in g) row('guesses', 'skipped', g.skipped);
  else for (const x of g) row('guesses', `${x.guard} (attacker ${x.attacker})`, `${x.guesses} wrong passwords processed by Asterisk; banned: ${x.banned}; cracked: ${x.svcrackCracked}${x.note ? `; ${x.note}` : ''}`);
}

const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['bench', 'what', 'result', 'target'][i]!.length));
const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
console.log(line(['bench', 'what', 'result', 'target']));
console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
process.exit(0);
