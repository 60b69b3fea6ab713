// The throughput part of `npm run bench`, in its own process: bench/run.ts runs it
// from the tsc build (.bench-build/), the code the service runs from dist/, and
// reads its rows from stdout (one JSON line each after ROW_TAG); progress goes to
// stderr. Env: BENCH_EVENTS, BENCH_BOTNET, BENCH_RUNS (see bench/run.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { applyCompilerOptions } from '../../src/ops/runtime.ts';
import { botnetWorkload, chunks } from '../lib/workload.ts';
import { ROW_TAG, k, median, medianOf, ok, type Row } from '../lib/report.ts';
import { runAsteriskManager, runFail2banRegex, runSipwarden, type SipwardenRun } from './throughput.ts';

// The service's V8 compiler options, as every node process of the bench (src/ops/runtime.ts).
applyCompilerOptions();

const env = process.env;
const EVENTS = Number(env['BENCH_EVENTS'] ?? 1_000_000);
const BOTNET = Number(env['BENCH_BOTNET'] ?? 100_000);
const RUNS = Math.max(1, Number(env['BENCH_RUNS'] ?? 5));

const row = (bench: string, what: string, value: string, target = '') => {
  const r: Row = [bench, what, value, target];
  process.stdout.write(`${ROW_TAG}${JSON.stringify(r)}\n`);
  console.error(`  ${bench}: ${what} = ${value}`);
};

/** A ratio row's text: the median of the rounds' own ratios, then each round's, two decimals alike. */
const ratioText = (ratios: number[]): string => `${medianOf(ratios).toFixed(2)}x (median of the rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`;

/** The security.log of the workload in a fresh temporary directory, for fail2ban-regex. */
function writeLog(log: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sw-bench-')), 'security.log');
  writeFileSync(file, log);
  return file;
}

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
  row('throughput', 'ratio sipwarden (whole path) / asterisk-manager (parser)', ratioText(amRatios), `>= 3x: ${ok(medianOf(amRatios) >= 3)}`);
  row('throughput', 'ratio sipwarden framer / asterisk-manager parser', `${((s.frames / s.framerOnlyMs) * 1000 / medianOf(amRates)).toFixed(2)}x`);
  if (f2bError !== '') row('throughput', 'fail2ban-regex', `failed: ${f2bError}`);
  else {
    const fRates = f2b.map((f) => (f.lines / f.ms) * 1000);
    const fRatios = fRates.map((r, i) => swRates[i]! / r);
    const f = f2b[0]!;
    row('throughput', `fail2ban-regex (${f.version}, stock asterisk filter)`, `${k(medianOf(fRates))} lines/s (median of ${RUNS} runs: ${fRates.map(k).join(', ')}; ${k(f.matched)} of ${k(f.lines)} matched; ${k(w.failures)} failures in the data)`);
    row('throughput', 'ratio sipwarden / fail2ban-regex', ratioText(fRatios), `>= 10x: ${ok(medianOf(fRatios) >= 10)}`);
  }
}
