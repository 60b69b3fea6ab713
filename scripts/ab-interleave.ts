// Compares the throughput path of two checkouts of sipwarden in one process, their rounds
// interleaved (A B, B A, ...), so both see the same spells of this noisy machine.
// Each checkout is built with tsc into its .bench-build/, as bench/run.ts builds it:
//   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && npm ci)
//   taskset -c 0 node --no-memory-reducer --import tsx scripts/ab-interleave.ts /tmp/base . [rounds]
// Prints each checkout's median rate and the median of the per-pair ratios (B / A).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchBuild } from '../bench/lib/build.ts';
import { k, medianOf } from '../bench/lib/report.ts';

const [rootA, rootB, roundsArg] = process.argv.slice(2);
if (!rootA || !rootB) {
  console.error('usage: ab-interleave.ts <checkout A> <checkout B> [rounds (default 8)]');
  process.exit(2);
}

function build(root: string): string {
  const b = benchBuild(root);
  if ('error' in b) {
    console.error(`tsc failed in ${root}: ${b.error}`);
    process.exit(1);
  }
  return b.dir;
}
const dirA = build(rootA);
const dirB = build(rootB);
const rounds = Math.max(2, Number(roundsArg ?? 8));
const load = (dir: string, file: string) => import(pathToFileURL(resolve(dir, file)).href);
const A = await load(dirA, 'bench/throughput/throughput.js');
const B = await load(dirB, 'bench/throughput/throughput.js');
const W = await load(dirA, 'bench/lib/workload.js');
(await load(dirA, 'src/ops/runtime.js')).applyCompilerOptions();

const active = Number(process.env['ACTIVE'] ?? 1000);
const w = W.botnetWorkload({ events: 1_000_000, botnet: 100_000, phones: 200, legitShare: 0.1, rate: 10_000, active }, false);
const cs = W.chunks(w.ami);
const warm = W.chunks(w.ami.subarray(0, 20 << 20));
A.runSipwarden(warm);
B.runSipwarden(warm);
const rate = (r: { security: number; ms: number }): number => (r.security / r.ms) * 1000;
const ra: number[] = [];
const rb: number[] = [];
for (let i = 0; i < rounds; i++) {
  if (i % 2 === 0) {
    ra.push(rate(A.runSipwarden(cs)));
    rb.push(rate(B.runSipwarden(cs)));
  } else {
    rb.push(rate(B.runSipwarden(cs)));
    ra.push(rate(A.runSipwarden(cs)));
  }
}
const ratios = ra.map((x, i) => rb[i]! / x);
console.log(`A ${k(medianOf(ra))} events/s, B ${k(medianOf(rb))} events/s; B/A median of ${rounds} pairs ${medianOf(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`);
process.exit(0); // the guard's idle timers
