// Attacker text (SIP From users, AMI usernames) reaches our logs through AMI.
// Control chars, ESC above all, could rewrite a terminal or forge log lines:
// show them as \xNN. A shared console escaper may replace this later; the
// client accepts any `(s) => string` through its options.

const CONTROL_RE = /[\x00-\x1f\x7f-\x9f]/g;

export function escapeControl(text: string, maxLength = 200): string {
  const cut = text.length > maxLength ? text.slice(0, maxLength) + '…' : text;
  return cut.replace(CONTROL_RE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
