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
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROW_TAG, k, ok, type Row } from './lib/report.ts';
import { benchBuild } from './lib/build.ts';
import { ensureTool, oneCore } from './lib/tools.ts';
import { NODE_COMMAND_LINE_OPTIONS, V8_COMPILER_OPTIONS, applyCompilerOptions, withRuntimeOptions } from '../src/ops/runtime.ts';

const env = process.env;
const MEM_SOURCES = Number(env['BENCH_MEMORY_SOURCES'] ?? 1_000_000);
const BANS = Number(env['BENCH_BANS'] ?? 1000);
const only = new Set((env['BENCH_ONLY'] ?? 'throughput,memory,reaction,guesses').split(','));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const rows: Row[] = [];
const row = (bench: string, what: string, value: string, target = '') => {
  rows.push([bench, what, value, target]);
  console.error(`  ${bench}: ${what} = ${value}`);
};

// Every node process of the bench runs with the service's V8 options (src/ops/runtime.ts): this
// one re-executes itself with them, the children (throughput: both JS contenders alike) inherit them.
const nodeOptions = withRuntimeOptions(env['NODE_OPTIONS']);
if (env['NODE_OPTIONS'] !== nodeOptions) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...env, NODE_OPTIONS: nodeOptions } });
  process.exit(r.status ?? 1);
}

// And its compiler options, which NODE_OPTIONS cannot carry: set here, in each child the same way.
applyCompilerOptions();

console.error(`sipwarden bench: node ${process.version} (NODE_OPTIONS=${nodeOptions}), ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
row('runtime', 'node and V8 options (every node process of the bench)', `${process.version}, NODE_OPTIONS=${nodeOptions}, ${NODE_COMMAND_LINE_OPTIONS.join(' ')} (children), ${V8_COMPILER_OPTIONS.join(' ')}, ${cpus()[0]?.model ?? '?'} x${cpus().length}`);

/**
 * A bench child compiled with tsc into .bench-build/ (gitignored), as the service runs
 * from dist/ (tsx's loader costs the throughput a few per cent and the memory ~35 MB of
 * RSS), or run with tsx if the build fails. Built once per bench run.
 */
let built: string | undefined;
function compiledChild(name: string): { args: string[]; what: string } {
  const out = join(here('..'), '.bench-build');
  if (built === undefined) {
    const b = benchBuild(here('..'));
    built = 'error' in b ? b.error : '';
  }
  if (built !== '') return { args: ['--import', 'tsx', here(`./${name}.ts`)], what: `tsx (tsc build failed: ${built})` };
  return { args: [join(out, 'bench', `${name}.js`)], what: 'tsc build (.bench-build/), as deployed' };
}

if (only.has('throughput')) {
  // Its own process, from the tsc build: the code the service runs (see compiledChild).
  const child = compiledChild('throughput/throughput.child');
  row('throughput', 'code measured', child.what);
  // On one core, as the target is stated: V8's collector threads would otherwise take
  // the second core's time too (~9 % more CPU than wall time, measured).
  const core = oneCore();
  row('throughput', 'CPU', core.what);
  const argv = [...core.prefix, process.execPath, ...NODE_COMMAND_LINE_OPTIONS, ...child.args];
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20 });
  const got = r.stdout.split('\n').filter((l) => l.startsWith(ROW_TAG)).map((l) => JSON.parse(l.slice(ROW_TAG.length)) as Row);
  rows.push(...got);
  if (r.status !== 0) row('throughput', 'failed', `exit ${r.status ?? r.signal}${got.length ? ` after ${got.length} rows` : ''}`);
}

if (only.has('memory')) {
  console.error(`memory: ${k(MEM_SOURCES)} spoofed sources in a child process...`);
  const child = compiledChild('memory/memory.child');
  const r = spawnSync(process.execPath, [...NODE_COMMAND_LINE_OPTIONS, '--expose-gc', ...child.args, String(MEM_SOURCES)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  row('memory', 'code measured', child.what);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const m = JSON.parse(line) as Record<string, number>;
    row('memory', 'sources (one failure each), decisions', `${k(m['sources']!)} sources, ${k(m['decisions']!)} decisions (subnet rule)`);
    row('memory', 'peak RSS (baseline)', `${m['peakRssMB']} MB (baseline ${m['baselineMB']} MB; peak heap ${m['peakHeapMB']} MB; ${k(m['keysAtEnd']!)} detector keys, ${k(m['dedupeKeysAtEnd']!)} retransmit keys)`, `<= 200 MB: ${ok(m['peakRssMB']! <= 200)}`);
    // Back down: the state the flood left (JS heap and typed arrays, after a gc) at least halves once its windows expire.
    const flood = m['afterFloodGcHeapMB']! + m['afterFloodGcBuffersMB']!;
    const quiet = m['quietHeapMB']! + m['quietBuffersMB']!;
    row('memory', 'after the windows expired (gc)', `RSS ${m['quietRssMB']} MB, heap + array buffers ${quiet.toFixed(1)} MB (${flood.toFixed(1)} MB right after the flood), ${k(m['keysAfterQuiet']!)} detector keys, ${k(m['dedupeKeysAfterQuiet']!)} retransmit keys`, `back down: ${ok(quiet < flood / 2)} (heap + buffers)`);
  } catch {
    row('memory', 'failed', `${r.status} ${r.stderr.slice(-400)}`);
  }
}

if (only.has('reaction')) {
  const missing = process.getuid?.() !== 0 ? 'needs root (unshare -n, nft)' : ensureTool('nft', 'nftables');
  if (missing !== '') row('reaction', 'skipped', missing);
  else {
    console.error(`reaction: ${k(BANS)} bans through a fake AMI server inside unshare -n...`);
    const r = spawnSync(process.execPath, [...NODE_COMMAND_LINE_OPTIONS, '--import', 'tsx', here('./reaction/reaction.child.ts'), String(BANS)], { encoding: 'utf8', timeout: 600_000 });
    try {
      const m = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, number>;
      row('reaction', `event -> in kernel set (${k(m['measured']!)} bans, kernel ${m['kernel']})`, `p50 ${m['p50']!.toFixed(2)} ms, p90 ${m['p90']!.toFixed(2)} ms, p99 ${m['p99']!.toFixed(2)} ms, max ${m['max']!.toFixed(2)} ms`, `p99 <= 5 ms: ${ok(m['p99']! <= 5)}`);
      row('reaction', 'of which event -> decision (the rest is nft -i)', `p50 ${m['decisionP50']!.toFixed(2)} ms, p99 ${m['decisionP99']!.toFixed(2)} ms, max ${m['decisionMax']!.toFixed(2)} ms`);
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
