import assert from 'node:assert/strict';
import { InFlightBatcher } from '../../../src/respond/in-flight-batcher.ts';

describe('respond/in-flight-batcher', () => {
  it('the first submit runs before submit returns; submits during a batch form the next one', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new InFlightBatcher<number>(async (ops) => {
      batches.push([...ops]);
      if (batches.length <= 2) await gate;
      return ops.map(() => null);
    });
    const first = b.submit(0);
    assert.deepEqual(batches, [[0]], 'a lone op waits for nothing');
    const rest = Array.from({ length: 99 }, (_, i) => b.submit(i + 1));
    await new Promise((r) => setImmediate(r));
    assert.equal(batches.length, 1, 'waits for the batch in flight');
    assert.equal(b.pending, 99);
    release();
    await Promise.all([first, ...rest]);
    assert.deepEqual(batches.map((x) => x.length), [1, 99]);
    assert.deepEqual(batches[1], Array.from({ length: 99 }, (_, i) => i + 1), 'in order');
    assert.equal(b.pending, 0);
  });

  it('after a batch settles, the next lone op again runs at once', async () => {
    const batches: number[][] = [];
    const b = new InFlightBatcher<number>(async (ops) => {
      batches.push([...ops]);
      return ops.map(() => null);
    });
    await b.submit(1);
    await b.flush();
    void b.submit(2);
    assert.deepEqual(batches, [[1], [2]]);
    await b.flush();
  });

  it('rejects exactly the ops the runner reports failed', async () => {
    const b = new InFlightBatcher<string>(async (ops) => ops.map((o) => (o === 'bad' ? new Error('no') : null)));
    const res = await Promise.allSettled([b.submit('a'), b.submit('bad'), b.submit('c')]);
    assert.deepEqual(res.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });

  it('a thrown runner rejects the whole batch; flush() waits for all', async () => {
    let n = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new InFlightBatcher<number>(async (ops) => {
      n++;
      if (n === 1) await gate;
      if (n === 2) throw new Error('boom');
      return ops.map(() => null);
    });
    const first = b.submit(0);
    const p = Promise.allSettled([b.submit(1), b.submit(2)]);
    release();
    await b.flush();
    await first;
    assert.deepEqual((await p).map((r) => r.status), ['rejected', 'rejected']);
    const q = b.submit(3);
    await b.flush();
    await q;
    assert.equal(b.pending, 0);
  });
});
