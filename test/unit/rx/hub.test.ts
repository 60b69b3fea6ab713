import assert from 'node:assert/strict';
import { Subject, config, filter, map } from 'rxjs';
import { Hub } from '../../../src/rx/hub.ts';

// The Hub must behave as a Subject does for everything the pipeline uses: the same script
// of subscribes, unsubscribes, values and ends gives the same deliveries on both.
function script(make: () => Subject<number> | Hub<number>): string[] {
  const log: string[] = [];
  const s = make();
  const a = s.subscribe({ next: (v) => log.push(`a${v}`), complete: () => log.push('a.done') });
  s.next(1);
  // An observer that unsubscribes another in the middle of a next: the value still reaches
  // every subscriber of that moment, as with a Subject.
  let c: { unsubscribe(): void } | undefined;
  const b = s.subscribe((v) => {
    log.push(`b${v}`);
    if (v === 2) c?.unsubscribe();
  });
  c = s.subscribe((v) => log.push(`c${v}`));
  s.pipe(filter((v) => v % 2 === 0), map((v) => v * 10)).subscribe((v) => log.push(`p${v}`));
  s.next(2);
  s.next(3);
  b.unsubscribe();
  s.next(4);
  a.unsubscribe();
  s.complete();
  s.next(5);
  s.subscribe({ next: () => log.push('late.next'), complete: () => log.push('late.done') });
  return log;
}

describe('Hub', () => {
  it('delivers what a Subject delivers: order, unsubscribes mid-next, operators, completion, late subscribers', () => {
    assert.deepEqual(script(() => new Hub<number>()), script(() => new Subject<number>()));
  });

  it('an error reaches current and late subscribers, and ends the stream', () => {
    const h = new Hub<number>();
    const seen: unknown[] = [];
    h.subscribe({ error: (e) => seen.push(['early', e]) });
    h.error('boom');
    h.next(1);
    h.subscribe({ next: () => seen.push('never'), error: (e) => seen.push(['late', e]) });
    assert.deepEqual(seen, [['early', 'boom'], ['late', 'boom']]);
    assert.equal(h.observed, 0);
  });

  it('a throwing observer does not stop the others', async () => {
    const h = new Hub<number>();
    const got: number[] = [];
    const reported: unknown[] = [];
    const before = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      h.subscribe(() => {
        throw new Error('bad observer');
      });
      h.subscribe((v) => got.push(v));
      h.next(7);
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      config.onUnhandledError = before;
    }
    assert.deepEqual(got, [7]);
    assert.equal(reported.length, 1);
  });
});
