/**
 * The layout of a rule's per-slot records (rule-columns.ts): INT_CELLS cells
 * a slot in one Int32Array and TIME_CELLS in one Float64Array, so that an
 * event touches one place in memory per array rather than one per field. In
 * one place, since the columns, the kinds, the stamp rings and the account
 * samples each write their own cells.
 */
export const INT_CELLS = 6;
export const TIME_CELLS = 4;

// ints
/** Frames counted for the key; 0 means the rule holds nothing for it. */
export const EVENTS = 0;
export const ATTEMPTS = 1;
/** threshold kind (stamp-rings.ts): stamps held, and the ring's block ((block << class bits | class) + 1, 0 for none). */
export const STAMP_COUNT = 2;
export const STAMP_BLOCK = 3;
/** Evidence accounts (account-samples.ts): the first one's text id (0 for none), and the others' block << 3 | count. */
export const SAMPLE_FIRST = 4;
export const SAMPLE_MORE = 5;

// times
/** The window's first and last event. */
export const FIRST = 0;
export const LAST = 1;
/** No new alert for the key before this time (the rule already fired). */
export const QUIET_UNTIL = 2;
/**
 * threshold kind: the stamp of a slot holding one, and the ring's head (where
 * its oldest stamp is) while the slot has a ring; distinct kind: the one value's time.
 */
export const ONE_STAMP = 3;
export const RING_HEAD = 3;
export const VALUE_TIME = 3;
