// The bench's table rows and the number formats every part prints.

/** [bench, what, result, target] */
export type Row = [string, string, string, string];

/** A number with thousands separators. */
export const k = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ok = (pass: boolean): string => (pass ? 'met' : 'NOT met');
/** The run of median time. */
export const median = <T extends { ms: number }>(runs: T[]): T => [...runs].sort((a, b) => a.ms - b.ms)[runs.length >> 1]!;
/** The median of some numbers (the upper one of an even count, as median() takes). */
export const medianOf = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
/** Where a child process writes a row on stdout: one JSON line each, after this tag. */
export const ROW_TAG = 'bench-row ';
