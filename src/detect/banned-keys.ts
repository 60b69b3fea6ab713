import type { Alert } from '../domain/types.ts';
import type { SlotColumns } from './key-table.ts';
import { grown } from './grown.ts';

/**
 * The keys of one grouping (source IPs, networks) that have a ban-ip in
 * force, with its end, as the policy reported it right after an alert. The
 * ban rules of the grouping pass such a key's events over: each of their
 * alerts would only be answered "already handled". In enforce mode the
 * kernel drops the source's packets anyway; what still arrives (packets in
 * flight, dry-run) is counted apart (Bans.passed).
 */
export class BannedKeys implements SlotColumns {
  private until = new Float64Array(0);
  /** 1: the ban covers every port, so it answers all-ports rules too. */
  private allPorts = new Uint8Array(0);

  grow(capacity: number): void {
    if (capacity <= this.until.length) return;
    this.until = grown(this.until, capacity);
    this.allPorts = grown(this.allPorts, capacity);
  }

  clear(slot: number): void {
    if (slot < this.until.length) this.until[slot] = 0;
  }

  reset(capacity: number): void {
    this.until = new Float64Array(capacity);
    this.allPorts = new Uint8Array(capacity);
  }

  /** Forgets every ban (one may have ended early: see Bans.revision). */
  forgetAll(): void {
    this.until.fill(0);
  }

  set(slot: number, until: number, allPorts: boolean): void {
    if (slot >= this.until.length) this.grow(slot + 1);
    this.until[slot] = until;
    this.allPorts[slot] = allPorts ? 1 : 0;
  }

  /** Is a ban in force for the slot at `now` that also answers a rule asking for all ports when `allPorts`? */
  covers(slot: number, now: number, allPorts: boolean): boolean {
    return slot < this.until.length && this.until[slot]! > now && (!allPorts || this.allPorts[slot] === 1);
  }
}

/** What the engine asks of the policy, right after an alert, and tells it (see BannedKeys). */
export interface Bans {
  /** Changes whenever a ban may end before its time in event time (see Policy.revision): what the engine learnt is dropped. */
  readonly revision: number;
  /** The ban-ip in force that answers this alert's repeats, if any (a view: read it at once). */
  standingBan(alert: Alert): { readonly expiresAt: number; readonly allPorts: boolean } | undefined;
  /** One event was passed over by the ban rules of its grouping. */
  passed(): void;
}
