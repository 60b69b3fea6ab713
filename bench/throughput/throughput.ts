// Throughput: raw AMI bytes -> decisions, one process, one core.
//   sipwarden: AmiFramer (as AmiClient's data handler runs it) -> Subject ->
//              Pipeline.push (normalizer, all default detectors, policy) ->
//              decisions$, plus the toll-fraud guard the service attaches.
//   asterisk-manager 0.2.0: its own reader (ManagerReader) fed through a fake
//              socket, counting 'managerevent' emits (parsing only).
//   fail2ban-regex: the stock asterisk filter on the same events as
//              security.log lines.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { Hub } from '../../src/rx/hub.ts';
import type { AmiFrame } from '../../src/domain/types.ts';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../src/config/load.ts';
import { AmiFramer } from '../../src/sources/ami/framer.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { attachTollFraudGuard } from '../../src/calls/guard.ts';
import { ensureTool } from '../lib/tools.ts';

export interface SipwardenRun {
  ms: number;
  frames: number;
  security: number;
  attempts: number;
  decisions: number;
  bans: number;
  framerOnlyMs: number;
}

/** The whole path, bytes to decisions. */
export function runSipwarden(chunks: readonly Buffer[]): SipwardenRun {
  const config = loadConfig(DEFAULT_CONFIG_PATH);
  const pipeline = new Pipeline(config, { dryRun: true });
  const guard = attachTollFraudGuard(pipeline, config.tollFraud, { dryRun: true });
  let decisions = 0;
  let bans = 0;
  pipeline.decisions$.subscribe((d) => {
    decisions++;
    if (d.action === 'ban-ip') bans++;
  });
  // What AmiClient does per socket 'data': framer.push, then frames$.next per frame.
  const frames$ = new Hub<AmiFrame>();
  frames$.subscribe((f) => pipeline.push(f));
  const framer = new AmiFramer();
  let frames = 0;
  const t0 = performance.now();
  for (const c of chunks) {
    const out = framer.push(c);
    frames += out.length;
    for (let i = 0; i < out.length; i++) frames$.next(out[i]!);
  }
  const ms = performance.now() - t0;
  const c = pipeline.normalizer.counters;
  const result = { ms, frames, security: c.security, attempts: c.attempts, decisions, bans, framerOnlyMs: 0 };
  guard.stop();
  pipeline.complete();
  // The framer alone, for a parser-to-parser comparison.
  const f2 = new AmiFramer();
  const t1 = performance.now();
  let n = 0;
  for (const ch of chunks) n += f2.push(ch).length;
  result.framerOnlyMs = performance.now() - t1;
  if (n !== frames) throw new Error(`framer-only run saw ${n} frames, not ${frames}`);
  return result;
}

/** asterisk-manager 0.2.0 through a fake socket: its reader gets the same chunks, decoded as setEncoding('utf-8') would. */
export async function runAsteriskManager(chunks: readonly Buffer[]): Promise<{ ms: number; events: number }> {
  const require = createRequire(import.meta.url);
  const AsteriskManager = require('asterisk-manager') as (port?: number, host?: string) => {
    connect(port: number, host: string, cb?: () => void): void;
    on(ev: string, fn: (...a: unknown[]) => void): void;
  };
  const fake = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(fake, { readyState: 'open', setKeepAlive() {}, setNoDelay() {}, setEncoding() {}, write() {}, end() {} });
  const real = net.createConnection;
  (net as { createConnection: unknown }).createConnection = () => fake;
  const ami = AsteriskManager();
  try {
    ami.connect(5038, '127.0.0.1');
  } finally {
    (net as { createConnection: unknown }).createConnection = real;
  }
  let events = 0;
  ami.on('managerevent', () => events++);
  const dec = new StringDecoder('utf8');
  const t0 = performance.now();
  // One socket read per tick, as from a real socket; the library emits its events on process.nextTick.
  for (const c of chunks) {
    fake.emit('data', dec.write(c));
    await new Promise<void>((r) => setImmediate(r));
  }
  return { ms: performance.now() - t0, events };
}

/** fail2ban-regex with the stock filter; installs fail2ban with apt-get when missing. */
export function runFail2banRegex(logFile: string): { ms: number; lines: number; matched: number; version: string } | { error: string } {
  const missing = ensureTool('fail2ban-regex', 'fail2ban');
  if (missing !== '') return { error: missing };
  const version = spawnSync('fail2ban-regex', ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '?';
  const t0 = performance.now();
  const r = spawnSync('fail2ban-regex', [logFile, '/etc/fail2ban/filter.d/asterisk.conf'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) return { error: `fail2ban-regex exited ${r.status}: ${r.stderr.slice(0, 500)}` };
  const m = /Lines:\s*(\d+) lines?, (\d+) ignored, (\d+) matched/.exec(r.stdout);
  if (!m) return { error: `cannot read fail2ban-regex output: ${r.stdout.slice(-500)}` };
  return { ms, lines: Number(m[1]), matched: Number(m[3]), version };
}
