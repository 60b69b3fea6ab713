import { setFlagsFromString } from 'node:v8';

/**
 * The V8 options sipwarden runs with, as NODE_OPTIONS (systemd/sipwarden.service
 * sets them; the benchmarks and the end-to-end tests run the same way).
 * Semi-spaces of 6 MB instead of V8's 16: the young generation is most of the
 * difference between the guard's live set and its RSS under a spoofed flood
 * (docs/performance.md), scavenges are shorter, and the throughput measured
 * the same (its objects die young either way).
 */
export const NODE_RUNTIME_OPTIONS = '--max-semi-space-size=6';

/**
 * TurboFan's inlining budget, raised from 920/460 bytes of bytecode: the
 * event path (framer walk, normalizer, detectors) is a chain of small
 * functions that outgrows the default budget, and calls left out of line cost
 * ~5 % of the whole path (docs/performance.md). Node refuses these in
 * NODE_OPTIONS, so the process sets them itself before any hot code is
 * optimized (applyCompilerOptions). They change what gets inlined, never what
 * the code does.
 */
export const V8_COMPILER_OPTIONS = ['--max-inlined-bytecode-size-cumulative=3000', '--max-inlined-bytecode-size=1000'] as const;

/**
 * V8 options that must be set before the heap is made, which Node refuses in
 * NODE_OPTIONS: the bin's shebang carries them (`#!/usr/bin/env -S node ...`,
 * so the unit's ExecStart and `npx sipwarden` get them), and whatever starts
 * bin/sipwarden.js with `node` itself passes them (the e2e tests, the benches).
 * No memory reducer: it runs compacting collections on a timer once the
 * allocation rate drops (measured 8 and ~16 s after start-up; by V8's design
 * also when a busy spell ends), each stopping the event loop for 9-16 ms in
 * the lab; one that fell on the first guesses of an attack let a seventh
 * wrong password through where the sixth is the bound (docs/performance.md).
 * The heap still shrinks at V8's ordinary major collections.
 */
export const NODE_COMMAND_LINE_OPTIONS = ['--no-memory-reducer'] as const;

/** The compiler options to set: those the command line (`execArgv`) does not set itself, which win. */
export function compilerOptionsFor(execArgv: readonly string[]): string[] {
  return V8_COMPILER_OPTIONS.filter((flag) => {
    const name = flag.slice(0, flag.indexOf('='));
    // V8 takes `_` for `-` in flag names.
    return !execArgv.some((a) => a.replaceAll('_', '-').split('=')[0] === name);
  });
}

/** Sets V8_COMPILER_OPTIONS for this process (call first thing: code optimized before keeps its inlining). */
export function applyCompilerOptions(): void {
  for (const flag of compilerOptionsFor(process.execArgv)) setFlagsFromString(flag);
}

/** NODE_OPTIONS with the runtime options added (kept if already there). */
export function withRuntimeOptions(nodeOptions: string | undefined): string {
  const current = nodeOptions?.trim() ?? '';
  return current.includes(NODE_RUNTIME_OPTIONS) ? current : `${current} ${NODE_RUNTIME_OPTIONS}`.trim();
}
