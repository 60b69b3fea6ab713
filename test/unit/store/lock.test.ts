import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateLock, StateLockError } from '../../../src/store/lock.ts';

describe('store/lock', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'swlock-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes our PID; a second instance is refused with a clear message; release frees it', async () => {
    const a = await StateLock.acquire(dir);
    assert.equal(readFileSync(join(dir, 'sipwarden.lock'), 'utf8').trim(), String(process.pid));
    await assert.rejects(StateLock.acquire(dir), (e: unknown) => e instanceof StateLockError && e.message === `another sipwarden (pid ${process.pid}) is running with state dir ${dir}`);
    await a.release();
    assert.equal(existsSync(join(dir, 'sipwarden.lock')), false);
    const b = await StateLock.acquire(dir);
    await b.release();
  });

  it('refuses when another live process holds it', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 20000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'sipwarden.lock'), `${child.pid}\n`);
      await assert.rejects(StateLock.acquire(dir), new RegExp(`pid ${child.pid}`));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over a stale lock whose PID is dead', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((r) => child.on('exit', r));
    writeFileSync(join(dir, 'sipwarden.lock'), `${child.pid}\n`);
    const l = await StateLock.acquire(dir);
    assert.equal(readFileSync(join(dir, 'sipwarden.lock'), 'utf8').trim(), String(process.pid));
    await l.release();
  });

  it('takes over a lock holding our own PID that we do not hold (PID 1 in a restarted container)', async () => {
    writeFileSync(join(dir, 'sipwarden.lock'), `${process.pid}\n`);
    const l = await StateLock.acquire(dir);
    await l.release();
  });

  it('an empty lock file (writer died before writing) becomes stale after the grace period', async () => {
    writeFileSync(join(dir, 'sipwarden.lock'), '');
    const l = await StateLock.acquire(dir, { emptyGraceMs: 0 });
    await l.release();
  });

  it('concurrent takeovers of a stale lock: exactly one wins', async () => {
    writeFileSync(join(dir, 'sipwarden.lock'), '999999\n');
    const res = await Promise.allSettled(Array.from({ length: 5 }, () => StateLock.acquire(dir, { isAlive: (pid) => pid !== 999999 })));
    const won = res.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of won) await (r as PromiseFulfilledResult<StateLock>).value.release();
  });
});
