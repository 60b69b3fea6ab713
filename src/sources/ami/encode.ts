// Serialise an AMI action to bytes. Values often carry attacker text (a
// channel name, an account): a CR or LF in them would end the line and let
// the text add its own headers or even a second action, so they are refused.

import { escapeText as escapeControl } from '../../console/escape.ts';

/** A field value; an array repeats the key once per element (Variable). */
export type AmiFieldValue = string | number | boolean | readonly (string | number | boolean)[];

/**
 * An action: a record (`{ Action: 'Hangup', Channel: 'PJSIP/1001-0001' }`,
 * emitted in key order, Action first) or ordered [key, value] pairs.
 * `undefined` values are skipped so optional fields read naturally.
 */
export type AmiAction =
  | Readonly<Record<string, AmiFieldValue | undefined>>
  | ReadonlyArray<readonly [string, string | number | boolean]>;

/** A key or value that cannot be sent safely. Carries the key, never the value. */
export class AmiValueError extends Error {
  override readonly name = 'AmiValueError';
  constructor(
    readonly key: string,
    readonly problem: 'bad-key' | 'control-char' | 'bad-type' | 'missing-action' | 'reserved-key',
  ) {
    super(`AMI field ${JSON.stringify(key)} rejected: ${problem}`);
  }
}

const KEY_RE = /^[A-Za-z0-9_-]+$/;
// CR, LF and NUL: line breaks end a header; NUL truncates in Asterisk's C strings.
const FORBIDDEN_RE = /[\r\n\0]/;

/** Ordered [key, value] pairs after validation (exported for tests/logging). */
export function actionPairs(action: AmiAction): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const add = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new AmiValueError(key, 'bad-type');
    }
    const text = String(value);
    if (FORBIDDEN_RE.test(text)) throw new AmiValueError(key, 'control-char');
    pairs.push([key, text]);
  };
  const entries: Iterable<readonly [string, unknown]> = Array.isArray(action)
    ? (action as ReadonlyArray<readonly [string, unknown]>)
    : Object.entries(action);
  for (const [key, value] of entries) {
    if (!KEY_RE.test(key)) throw new AmiValueError(safeKey(key), 'bad-key');
    if (Array.isArray(value)) for (const v of value) add(key, v);
    else add(key, value);
  }
  // Action must come first: Asterisk reads it by name, but logs and proxies
  // expect it on top, and a record's key order is the caller's choice.
  const i = pairs.findIndex(([k]) => k.toLowerCase() === 'action');
  if (i < 0) throw new AmiValueError('Action', 'missing-action');
  if (i > 0) pairs.unshift(...pairs.splice(i, 1));
  return pairs;
}

/** Bytes of one action, `\r\n\r\n`-terminated. Throws AmiValueError. */
export function encodeAction(action: AmiAction): Buffer {
  let text = '';
  for (const [k, v] of actionPairs(action)) text += `${k}: ${v}\r\n`;
  return Buffer.from(text + '\r\n', 'utf8');
}

/** A bad key may itself hold control chars: keep the error message printable. */
function safeKey(key: string): string {
  return escapeControl(key, 64);
}
