// ISO 8601 text of a time, as Date#toISOString gives it, for the times alerts
// carry: events come many to a second, so the text of a second is made once.

const MS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);
/**
 * The text of recent seconds, direct-mapped by the second's low bits. An
 * alert asks for its window's first and last time, and a window is up to
 * minutes long: two seconds remembered missed on most alerts of a flood (a
 * Date and its format each time, measured 1.7 % of the whole path).
 */
const SLOTS = 1024;
const seconds = new Float64Array(SLOTS).fill(NaN);
const prefixes: string[] = new Array<string>(SLOTS).fill('');

/** new Date(ms).toISOString(), without a Date or a format per call within a recent second. */
export function isoTime(time: number): string {
  // Years 0-9999 only: outside them toISOString writes a sign and six digits.
  if (!(time >= 0 && time < 253402300800000)) return new Date(time).toISOString();
  const ms = Math.floor(time); // a Date drops the fraction
  const second = Math.floor(ms / 1000);
  const i = second & (SLOTS - 1);
  if (seconds[i] !== second) {
    seconds[i] = second;
    prefixes[i] = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return prefixes[i]! + MS[ms - second * 1000]!;
}
