// Runs a request at once when nothing is in flight; requests that arrive while
// a batch runs form the next batch. A lone ban waits for nothing (not even the
// rest of the event-loop turn that decided it), and a ban storm still costs a
// few spawns, not thousands.

/** Runs a batch; returns one result per op (null = ok) in order. */
export type BatchRunner<Op> = (ops: readonly Op[]) => Promise<ReadonlyArray<Error | null>>;

interface Pending<Op> {
  readonly op: Op;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class InFlightBatcher<Op> {
  private queue: Pending<Op>[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(private readonly runBatch: BatchRunner<Op>) {}

  submit(op: Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      // Synchronous: the runner starts (and nft gets its line) before submit returns.
      if (!this.inFlight) void this.drain();
    });
  }

  /** Resolves once everything submitted so far has been run. */
  async flush(): Promise<void> {
    for (let i = 0; i < 1_000 && (this.inFlight || this.queue.length > 0); i++) await (this.inFlight ?? this.drain());
  }

  get pending(): number {
    return this.queue.length;
  }

  private drain(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.queue.length === 0) return Promise.resolve();
    this.inFlight = (async () => {
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
