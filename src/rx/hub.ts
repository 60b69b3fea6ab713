import { Observable, type Observer, type Subscriber } from 'rxjs';

interface HubState<T> {
  subscribers: ReadonlyArray<Subscriber<T>>;
  done: boolean;
  failed: boolean;
  error: unknown;
}

/**
 * A Subject for the per-event streams: it multicasts to its subscribers like
 * one, but `next` is a plain loop over a copy-on-write list. RxJS's Subject
 * wraps every `next` in a closure (errorContext) and an iterator: two
 * allocations per event per stream, at hundreds of thousands of events a
 * second. Like a Subject, a late subscriber gets the completion or error, and
 * an observer that throws is reported by RxJS without stopping the others.
 */
export class Hub<T> extends Observable<T> implements Observer<T> {
  private readonly state: HubState<T>;

  constructor() {
    const state: HubState<T> = { subscribers: [], done: false, failed: false, error: undefined };
    super((subscriber) => {
      if (state.done) {
        if (state.failed) subscriber.error(state.error);
        else subscriber.complete();
        return undefined;
      }
      // A new list on every change: a next() in progress keeps looping the one it took.
      state.subscribers = [...state.subscribers, subscriber];
      return () => {
        state.subscribers = state.subscribers.filter((s) => s !== subscriber);
      };
    });
    this.state = state;
  }

  /** Subscribers now (tests, metrics). */
  get observed(): number {
    return this.state.subscribers.length;
  }

  next(value: T): void {
    const subs = this.state.subscribers;
    for (let i = 0; i < subs.length; i++) subs[i]!.next(value);
  }

  error(err: unknown): void {
    const subs = this.finish();
    if (subs === undefined) return;
    this.state.failed = true;
    this.state.error = err;
    for (const s of subs) s.error(err);
  }

  complete(): void {
    const subs = this.finish();
    if (subs !== undefined) for (const s of subs) s.complete();
  }

  /** The subscribers to tell, once; undefined if already done. */
  private finish(): ReadonlyArray<Subscriber<T>> | undefined {
    const st = this.state;
    if (st.done) return undefined;
    st.done = true;
    const subs = st.subscribers;
    st.subscribers = [];
    return subs;
  }
}
