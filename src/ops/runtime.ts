/**
 * The V8 options sipwarden runs with, as NODE_OPTIONS (systemd/sipwarden.service
 * sets them; the benchmarks and the end-to-end tests run the same way).
 * Semi-spaces of 6 MB instead of V8's 16: the young generation is most of the
 * difference between the guard's live set and its RSS under a spoofed flood
 * (docs/performance.md), scavenges are shorter, and the throughput measured
 * the same (its objects die young either way).
 */
export const NODE_RUNTIME_OPTIONS = '--max-semi-space-size=6';

/** NODE_OPTIONS with the runtime options added (kept if already there). */
export function withRuntimeOptions(nodeOptions: string | undefined): string {
  const current = nodeOptions?.trim() ?? '';
  return current.includes(NODE_RUNTIME_OPTIONS) ? current : `${current} ${NODE_RUNTIME_OPTIONS}`.trim();
}
