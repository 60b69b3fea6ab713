/** Per-key window state of one rule. Kept small: it exists once per source under a flood. */
export interface KeyState {
  /** Times of counted items, oldest first (threshold kind), at most `threshold` long. */
  stamps: number[];
  /** Distinct value -> last time seen (distinct kind). */
  values: Map<string, number> | undefined;
  /** Frames seen for this key while it has been alive (retransmits included). */
  events: number;
  attempts: number;
  first: number;
  last: number;
  accounts: string[];
  ips: string[];
  /** No new alert for this key before this time: the rule already fired. */
  quietUntil: number;
}

/** State of every key of one rule. It outlives a config reload when the rule id stays. */
export type RuleState = Map<string, KeyState>;

const SAMPLES = 5;

/**
 * The empty list every new key starts with, shared: it is never written to
 * (kinds and withSample replace an empty list instead of pushing onto it), so
 * a key seen once costs no arrays of its own.
 */
export const NONE: string[] & number[] = [] as never;

export function newKeyState(now: number): KeyState {
  return { stamps: NONE, values: undefined, events: 0, attempts: 0, first: now, last: now, accounts: NONE, ips: NONE, quietUntil: 0 };
}

export function addSample(list: string[], value: string): void {
  if (list.length < SAMPLES && !list.includes(value)) list.push(value);
}

/**
 * addSample without growing in place: returns `list` itself, or a copy of
 * exactly the new size. A pushed-to `[]` reserves 17 slots; under a flood
 * of one-event keys that is most of a key's memory.
 */
export function withSample(list: string[], value: string): string[] {
  if (list.length >= SAMPLES || list.includes(value)) return list;
  if (list.length === 0) return [value];
  const n = list.length;
  const next = new Array<string>(n + 1);
  for (let i = 0; i < n; i++) next[i] = list[i]!;
  next[n] = value;
  return next;
}
