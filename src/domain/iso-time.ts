// ISO 8601 text of a time, as Date#toISOString gives it, for the times alerts
// carry: events come many to a second, so the text of the second is made once.

const MS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);
let lastSecond = NaN;
let lastPrefix = '';

/** new Date(ms).toISOString(), without a Date or a format per call within the same second. */
export function isoTime(time: number): string {
  // Years 0-9999 only: outside them toISOString writes a sign and six digits.
  if (!(time >= 0 && time < 253402300800000)) return new Date(time).toISOString();
  const ms = Math.floor(time); // a Date drops the fraction
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return lastPrefix + MS[ms - second * 1000]!;
}
