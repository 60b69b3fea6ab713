// Memory under a spoofed flood: N distinct source addresses, one failed
// attempt each, through the real Pipeline (normalizer, every default rule,
// policy), then quiet until every window has expired. Virtual time: the
// detectors' idle sweep runs on the pipeline's scheduler, here a
// VirtualTimeScheduler advanced by 11 minutes (longest default window 10 min).
// Run by bench/run.ts as `node --expose-gc --import tsx memory.child.ts N`;
// prints one JSON line. BENCH_MEMORY_JOURNAL=1 also journals every ban (a
// BanJournal in a temp dir, fsync on), as the service does.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../src/config/load.ts';
import { AmiFramer } from '../../src/sources/ami/framer.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { BanJournal } from '../../src/store/journal.ts';
import { amiText, eventTv, remoteOf, spoofedSource, templates } from '../lib/workload.ts';
import { applyCompilerOptions } from '../../src/ops/runtime.ts';

// The service's V8 compiler options, as every node process of the bench (src/ops/runtime.ts).
applyCompilerOptions();

const N = Number(process.argv[2] ?? 1_000_000);
const JOURNAL = process.env['BENCH_MEMORY_JOURNAL'] === '1';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
const config = loadConfig(DEFAULT_CONFIG_PATH);
const stateDir = JOURNAL ? mkdtempSync(join(tmpdir(), 'sw-bench-mem-')) : '';
const journal = JOURNAL ? await BanJournal.open(join(stateDir, 'journal.json')) : undefined;
const pipeline = new Pipeline(config, { scheduler, dryRun: true, ...(journal ? { priorOffences: (k: string, since: number) => journal.offences(k, since) } : {}) });
let decisions = 0;
pipeline.decisions$.subscribe((d) => {
  decisions++;
  if (journal && d.action !== 'watch') journal.record(d); // Service.handle
});
const framer = new AmiFramer({ expectGreeting: false });
const t = templates().crf;
const start = Date.UTC(2026, 10, 23, 16, 0, 0);
const RATE = 20_000; // events per second of event time: 1M in 50 s
gc();
const baseline = process.memoryUsage().rss;
let peak = baseline;
let peakHeap = 0;
// Events are written straight into one reused 64 KiB Buffer, what a socket read delivers, and
// fed to the framer: the harness holds no more input than the service would, and makes no
// garbage of its own. Memory is sampled after every read.
const CHUNK = 64 * 1024;
const EVENT_MAX = 1024;
const read = Buffer.allocUnsafe(CHUNK);
for (let j = 0; j < N; ) {
  let len = 0;
  for (; j < N && len + EVENT_MAX <= CHUNK; j++) {
    const src = spoofedSource(j);
    len += read.write(amiText(t, { tv: eventTv(start + Math.floor((j * 1000) / RATE)), account: '1001', session: String(j), remote: remoteOf(src), response: j.toString(16).padStart(32, '0') }), len, 'latin1');
  }
  for (const f of framer.push(read.subarray(0, len))) pipeline.push(f);
  // Each socket read is its own turn of the event loop: the journal's writes go on between them.
  if (journal) await new Promise((r) => setImmediate(r));
  const m = process.memoryUsage();
  if (m.rss > peak) peak = m.rss;
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
}
await journal?.flush();
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
if (JOURNAL) rmSync(stateDir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    journal: journal ? journal.all().length : null,
    sources: N,
    security: pipeline.normalizer.counters.security,
    decisions,
    baselineMB: mb(baseline),
    peakRssMB: mb(Math.max(peak, highWaterRss())),
    peakHeapMB: mb(peakHeap),
    keysAtEnd,
    dedupeKeysAtEnd: dedupeAtEnd,
    afterFloodGcRssMB: mb(afterFlood.rss),
    afterFloodGcHeapMB: mb(afterFlood.heapUsed),
    // The detector's records and indexes are typed arrays: their memory is outside the JS heap.
    afterFloodGcBuffersMB: mb(afterFlood.arrayBuffers),
    quietRssMB: mb(after.rss),
    quietHeapMB: mb(after.heapUsed),
    quietBuffersMB: mb(after.arrayBuffers),
    keysAfterQuiet: pipeline.registry.keys,
    dedupeKeysAfterQuiet: (pipeline.normalizer as unknown as { dedupe: { size: number } }).dedupe.size,
    activeDecisionsAfterQuiet: pipeline.policy.activeDecisions().length,
  }),
);
process.exit(0);

/**
 * The kernel's peak RSS of this process (VmHWM), between the samples too. Not
 * resourceUsage().maxRSS: after fork and exec it still counts the parent's pages
 * (the full bench runs this child from a process holding 1 GB of workloads).
 */
function highWaterRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
