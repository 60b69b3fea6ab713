// Coalesces requests made within one event-loop tick into one batch, with
// at most one batch in flight: requests arriving meanwhile form the next
// batch, so a ban storm costs a few spawns, not thousands.

/** Runs a batch; returns one result per op (null = ok) in order. */
export type BatchRunner<Op> = (ops: readonly Op[]) => Promise<ReadonlyArray<Error | null>>;

interface Pending<Op> {
  readonly op: Op;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class TickBatcher<Op> {
  private queue: Pending<Op>[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly runBatch: BatchRunner<Op>,
    /** setImmediate fires after the current tick's microtasks and I/O callbacks. */
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  submit(op: Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.scheduled && !this.inFlight) {
        this.scheduled = true;
        this.schedule(() => {
          this.scheduled = false;
          void this.drain();
        });
      }
    });
  }

  /** Resolves once everything submitted so far has been run. */
  async flush(): Promise<void> {
    for (let i = 0; i < 1_000 && (this.inFlight || this.queue.length > 0 || this.scheduled); i++) {
      if (this.inFlight) await this.inFlight;
      else if (this.queue.length > 0) await this.drain();
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  private drain(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.queue.length === 0) return Promise.resolve();
    this.inFlight = (async () => {
      // Requests that come in while a batch runs form the next batch, right away.
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const results = await this.runBatch(batch.map((p) => p.op));
          batch.forEach((p, i) => {
            const r = results[i];
            if (r) p.reject(r);
            else p.resolve();
          });
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          for (const p of batch) p.reject(err);
        }
      }
    })().finally(() => {
      this.inFlight = null;
      if (this.queue.length > 0) void this.drain();
    });
    return this.inFlight;
  }
}
