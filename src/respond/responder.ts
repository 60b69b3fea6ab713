import type { Decision } from '../domain/types.ts';

/** A live ban as the kernel or Asterisk holds it, for reconciliation. */
export interface ActiveEntry {
  readonly ip?: string;
  readonly account?: string;
  /** ms left, when the backend knows it (kernel element timeout). */
  readonly remainingMs?: number;
  /** Held on every port (all-port or network ban), not only SIP. */
  readonly allPorts?: boolean;
}

/**
 * One enforcement backend. Every responder has a dry-run twin, so the
 * pipeline can run with no privileges and say what it would have done.
 */
export interface Responder {
  readonly name: string;
  /** Which actions this responder carries out. */
  handles(decision: Decision): boolean;
  init(): Promise<void>;
  apply(decision: Decision): Promise<void>;
  revoke(decision: Decision): Promise<void>;
  /** What the backend holds now (for journal reconciliation). */
  reconcile?(): Promise<ActiveEntry[]>;
  /** Resolves once every change requested so far has reached the backend. */
  flush?(): Promise<void>;
  shutdown(): Promise<void>;
}
