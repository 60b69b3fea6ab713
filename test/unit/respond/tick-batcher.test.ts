import assert from 'node:assert/strict';
import { TickBatcher } from '../../../src/respond/tick-batcher.ts';

describe('respond/tick-batcher', () => {
  it('one tick of submits -> one batch; submits during a batch -> the next one', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new TickBatcher<number>(async (ops) => {
      batches.push([...ops]);
      if (batches.length === 1) await gate;
      return ops.map(() => null);
    });
    const first = Array.from({ length: 100 }, (_, i) => b.submit(i));
    await new Promise((r) => setImmediate(r));
    assert.equal(batches.length, 1);
    const second = [b.submit(100), b.submit(101)];
    await new Promise((r) => setImmediate(r));
    assert.equal(batches.length, 1, 'waits for the batch in flight');
    release();
    await Promise.all([...first, ...second]);
    assert.deepEqual(batches.map((x) => x.length), [100, 2]);
  });

  it('rejects exactly the ops the runner reports failed', async () => {
    const b = new TickBatcher<string>(async (ops) => ops.map((o) => (o === 'bad' ? new Error('no') : null)));
    const res = await Promise.allSettled([b.submit('a'), b.submit('bad'), b.submit('c')]);
    assert.deepEqual(res.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });

  it('a thrown runner rejects the whole batch; flush() waits for all', async () => {
    let n = 0;
    const b = new TickBatcher<number>(async (ops) => {
      n++;
      if (n === 1) throw new Error('boom');
      return ops.map(() => null);
    });
    const p = Promise.allSettled([b.submit(1), b.submit(2)]);
    await b.flush();
    assert.deepEqual((await p).map((r) => r.status), ['rejected', 'rejected']);
    const q = b.submit(3);
    await b.flush();
    await q;
    assert.equal(b.pending, 0);
  });
});
