/**
 * Times in arrival order, the newest `max` kept: a ring in a Float64Array
 * that grows by doubling up to `max`. Dropping the oldest is moving an index,
 * so a flood of failures costs no copy or shift per event.
 */
export class TimeRing {
  private buf: Float64Array;
  private start = 0;
  private count = 0;

  private readonly max: number;

  constructor(max: number) {
    this.max = Math.max(1, max);
    this.buf = new Float64Array(Math.min(4, this.max));
  }

  get size(): number {
    return this.count;
  }

  push(t: number): void {
    if (this.count === this.buf.length && this.count < this.max) this.grow();
    if (this.count === this.buf.length) {
      // Full at max: the oldest goes.
      this.buf[this.start] = t;
      this.start = (this.start + 1) % this.buf.length;
      return;
    }
    this.buf[(this.start + this.count) % this.buf.length] = t;
    this.count++;
  }

  /** Drops the times at or before `horizon` from the old end. */
  dropThrough(horizon: number): void {
    while (this.count > 0 && this.buf[this.start]! <= horizon) this.dropOldest();
  }

  /** How many times are after `t`. */
  countAfter(t: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.buf[(this.start + i) % this.buf.length]! > t) n++;
    return n;
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
  }

  private dropOldest(): void {
    this.start = (this.start + 1) % this.buf.length;
    this.count--;
  }

  private grow(): void {
    const next = new Float64Array(Math.min(this.max, this.buf.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.buf[(this.start + i) % this.buf.length]!;
    this.buf = next;
    this.start = 0;
  }
}
