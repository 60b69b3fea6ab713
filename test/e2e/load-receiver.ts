// The receiving side of the load test, in a process of its own as the service
// runs (its own heap, the unit's V8 options): the real AmiClient + Pipeline
// (default rules and policy, dry run) on a live AMI socket. Prints one JSON line
// once stdin says how many events were sent and that many have been processed.
//
// Lag = processing time - EventTV. Lag is also split into the part the process
// spent on a CPU and the part it was not running (descheduled by the host, or
// the sender was): only the first is the guard's doing.
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../src/config/load.ts';
import { applyCompilerOptions } from '../../src/ops/runtime.ts';
import { AmiClient } from '../../src/sources/ami/client.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';

applyCompilerOptions();
const port = Number(process.argv[2]);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// [wall ms, cpu ms] every 2 ms while the loop runs; a gap in it is time off the CPU or busy.
const samples: Array<[number, number]> = [];
const sampler = setInterval(() => samples.push([Date.now(), cpuMs()]), 2);
/** CPU ms used by wall time t: the last sample not after t, so a window's CPU time is never under-counted. */
function cpuAt(t: number): number {
  let lo = 0;
  let hi = samples.length - 1;
  if (hi < 0 || samples[0]![0] > t) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (samples[mid]![0] <= t) lo = mid;
    else hi = mid - 1;
  }
  return samples[lo]![1];
}

const pipeline = new Pipeline(loadConfig(DEFAULT_CONFIG_PATH), { dryRun: true });
const client = new AmiClient({ host: '127.0.0.1', port, username: 'u', secret: 's', logger: pino({ level: 'silent' }) });
const lags: number[] = [];
const slow: Array<{ lag: number; at: number; cpu: number }> = [];
let decisions = 0;
pipeline.security$.subscribe((ev) => {
  const now = Date.now();
  const lag = now - ev.time;
  lags.push(lag);
  if (lag > 20) slow.push({ lag, at: now, cpu: cpuMs() });
});
pipeline.decisions$.subscribe(() => decisions++);
client.frames$.subscribe((f) => pipeline.push(f));
client.start();

const gcMs: number[] = [];
const gcObs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcMs.push(e.duration);
});
gcObs.observe({ entryTypes: ['gc'] });

for await (const line of createInterface({ input: process.stdin })) {
  const m = /^SENT (\d+)$/.exec(line);
  if (!m) continue;
  const sent = Number(m[1]);
  const end = Date.now() + 5000;
  while (pipeline.normalizer.counters.security < sent && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sampler);
  gcObs.disconnect();
  const sorted = [...lags].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  // The guard's own share of each slow event's lag: the CPU time it used meanwhile.
  const split = slow.map((s) => ({ lag: s.lag, onCpu: Math.min(s.lag, s.cpu - cpuAt(s.at - s.lag)) }));
  const worstOwn = split.reduce((w, s) => (s.onCpu > w.onCpu ? s : w), { lag: 0, onCpu: 0 });
  const worstRaw = split.reduce((w, s) => (s.lag > w.lag ? s : w), { lag: 0, onCpu: 0 });
  process.stdout.write(
    JSON.stringify({
      processed: pipeline.normalizer.counters.security,
      malformed: pipeline.normalizer.counters.malformed,
      oversize: client.counters.oversize,
      decisions,
      p50: p(0.5),
      p99: p(0.99),
      max: sorted[sorted.length - 1] ?? NaN,
      worstRaw,
      worstOwn,
      gcMaxMs: Math.round(Math.max(0, ...gcMs) * 10) / 10,
    }) + '\n',
  );
  await client.stop();
  pipeline.complete();
  process.exit(0);
}
