// Attacker-controlled text (AccountID comes from the SIP From header) must
// never reach a terminal or a log raw: an ESC sequence could rewrite the
// screen, a bidi override could hide an address. Escape at every output.

// C0 controls, DEL, C1 controls, bidi overrides/isolates, line/paragraph separators.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Printable form of untrusted text: controls as \xNN, cut to `max` chars. */
export function escapeText(text: string, max = 120): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const safe = cut.replace(UNSAFE, hex);
  return text.length > max ? `${safe}…(+${text.length - max})` : safe;
}

/** JSON.stringify leaves DEL, C1 and bidi characters raw; this does not. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
