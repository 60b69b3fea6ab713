// ISO 8601 text of a time, as Date#toISOString gives it, for the times alerts
// carry: events come many to a second, so the text of the second is made once.

const MS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);
// Two seconds remembered: an alert asks for its window's first and last time, often in different seconds.
const seconds = [NaN, NaN];
const prefixes = ['', ''];
let older = 0;

/** new Date(ms).toISOString(), without a Date or a format per call within the same second. */
export function isoTime(time: number): string {
  // Years 0-9999 only: outside them toISOString writes a sign and six digits.
  if (!(time >= 0 && time < 253402300800000)) return new Date(time).toISOString();
  const ms = Math.floor(time); // a Date drops the fraction
  const second = Math.floor(ms / 1000);
  let i = seconds[0] === second ? 0 : seconds[1] === second ? 1 : -1;
  if (i < 0) {
    i = older;
    older ^= 1;
    seconds[i] = second;
    prefixes[i] = new Date(second * 1000).toISOString().slice(0, 19);
  } else older = i ^ 1;
  return prefixes[i]! + MS[ms - second * 1000]!;
}
