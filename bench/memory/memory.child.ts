// Memory under a spoofed flood: N distinct source addresses, one failed
// attempt each, through the real Pipeline (normalizer, every default rule,
// policy), then quiet until every window has expired. Virtual time: the
// detectors' idle sweep runs on the pipeline's scheduler, here a
// VirtualTimeScheduler advanced by 11 minutes (longest default window 10 min).
// Run by bench/run.ts as `node --expose-gc --import tsx memory.child.ts N`;
// prints one JSON line.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../src/config/load.ts';
import { AmiFramer } from '../../src/sources/ami/framer.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { amiText, eventTv, remoteOf, spoofedSource, templates } from '../lib/workload.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
const config = loadConfig(DEFAULT_CONFIG_PATH);
const pipeline = new Pipeline(config, { scheduler, dryRun: true });
let decisions = 0;
pipeline.decisions$.subscribe(() => decisions++);
const framer = new AmiFramer({ expectGreeting: false });
const t = templates().crf;
const start = Date.UTC(2026, 10, 23, 16, 0, 0);
const RATE = 20_000; // events per second of event time: 1M in 50 s
gc();
const baseline = process.memoryUsage().rss;
let peak = baseline;
let peakHeap = 0;
const BATCH = 5000;
// The batch is written straight into one reused Buffer and fed in 64 KiB chunks, what a socket
// delivers: the harness adds no garbage of its own, and the framer sees realistic reads.
const batch = Buffer.allocUnsafe(BATCH * 1024);
const CHUNK = 64 * 1024;
for (let i = 0; i < N; i += BATCH) {
  let len = 0;
  for (let j = i; j < Math.min(N, i + BATCH); j++) {
    const src = spoofedSource(j);
    len += batch.write(amiText(t, { tv: eventTv(start + Math.floor((j * 1000) / RATE)), account: '1001', session: String(j), remote: remoteOf(src), response: j.toString(16).padStart(32, '0') }), len, 'latin1');
  }
  for (let o = 0; o < len; o += CHUNK) for (const f of framer.push(batch.subarray(o, Math.min(len, o + CHUNK)))) pipeline.push(f);
  const m = process.memoryUsage();
  if (m.rss > peak) peak = m.rss;
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
}
const keysAtEnd = pipeline.registry.keys;
const dedupeAtEnd = (pipeline.normalizer as unknown as { dedupe: { size: number } }).dedupe.size;
gc();
const afterFlood = process.memoryUsage();
// Quiet: 11 minutes of virtual time, idle sweeps fire on their interval.
scheduler.maxFrames = scheduler.now() + 11 * 60_000;
scheduler.flush();
const quietEnd = pipeline.normalizer.now + 11 * 60_000;
pipeline.policy.expire(quietEnd); // what the service's 5 s timer does
pipeline.normalizer.sweep(quietEnd); // so does the retransmit-key sweep
gc();
await new Promise((r) => setTimeout(r, 200));
gc();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    sources: N,
    security: pipeline.normalizer.counters.security,
    decisions,
    baselineMB: mb(baseline),
    peakRssMB: mb(Math.max(peak, (process.resourceUsage().maxRSS ?? 0) * 1024)),
    peakHeapMB: mb(peakHeap),
    keysAtEnd,
    dedupeKeysAtEnd: dedupeAtEnd,
    afterFloodGcRssMB: mb(afterFlood.rss),
    afterFloodGcHeapMB: mb(afterFlood.heapUsed),
    quietRssMB: mb(after.rss),
    quietHeapMB: mb(after.heapUsed),
    keysAfterQuiet: pipeline.registry.keys,
    dedupeKeysAfterQuiet: (pipeline.normalizer as unknown as { dedupe: { size: number } }).dedupe.size,
    activeDecisionsAfterQuiet: pipeline.policy.activeDecisions().length,
  }),
);
process.exit(0);
