/**
 * Parses Asterisk's EventTV, e.g. `2026-11-22T11:17:53.844+0000`.
 * Date.parse rejects the `+0000` offset form, so split it by hand.
 * Returns NaN when the text is not an EventTV.
 */
export function parseEventTV(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!m) return NaN;
  const frac = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
  const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
  const offset = (+m[9]! * 60 + +m[10]!) * 60_000;
  return m[8] === '+' ? utc - offset : utc + offset;
}
