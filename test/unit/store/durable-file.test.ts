import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableFile, type DurableFileEvent } from '../../../src/store/durable-file.ts';
import { BanJournal } from '../../../src/store/journal.ts';

type Doc = { n: number; items: string[] };
const isDoc = (x: unknown): x is Doc => typeof x === 'object' && x !== null && typeof (x as Doc).n === 'number';

describe('store/durable-file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'swdf-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips, keeps the previous version as .bak, leaves no temp files', async () => {
    const f = new DurableFile<Doc>(join(dir, 'j.json'));
    assert.equal(await f.read(), null);
    await f.write({ n: 1, items: [] });
    await f.write({ n: 2, items: ['a'] });
    assert.deepEqual(await f.read(), { n: 2, items: ['a'] });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'j.json.bak'), 'utf8')), { n: 1, items: [] });
    assert.deepEqual(readdirSync(dir).sort(), ['j.json', 'j.json.bak']);
  });

  it('truncated main file -> recovered from backup, reported; corrupt file kept aside', async () => {
    const events: DurableFileEvent[] = [];
    const p = join(dir, 'j.json');
    const f = new DurableFile<Doc>(p, { validate: isDoc });
    await f.write({ n: 1, items: [] });
    await f.write({ n: 2, items: [] });
    const text = readFileSync(p, 'utf8');
    writeFileSync(p, text.slice(0, text.length - 3));
    const g = new DurableFile<Doc>(p, { validate: isDoc, onEvent: (e) => events.push(e), now: () => 42 });
    assert.deepEqual(await g.read(), { n: 1, items: [] });
    assert.equal(events[0]?.kind, 'recovered-from-backup');
    assert.ok(existsSync(`${p}.corrupt-42`));
    // The next write must not make the corrupt file the backup.
    await g.write({ n: 3, items: [] });
    assert.deepEqual(JSON.parse(readFileSync(`${p}.bak`, 'utf8')), { n: 1, items: [] });
  });

  it('both corrupt -> moved aside, starts empty, loudly', async () => {
    const p = join(dir, 'j.json');
    writeFileSync(p, '{"n": 1, "ite');
    writeFileSync(`${p}.bak`, '');
    const events: DurableFileEvent[] = [];
    const f = new DurableFile<Doc>(p, { onEvent: (e) => events.push(e), now: () => 7 });
    assert.equal(await f.read(), null);
    assert.equal(events[0]?.kind, 'corrupt-reset');
    assert.ok(existsSync(`${p}.corrupt-7`));
  });

  it('structurally wrong data counts as corrupt', async () => {
    const p = join(dir, 'j.json');
    writeFileSync(p, '[1,2,3]');
    writeFileSync(`${p}.bak`, JSON.stringify({ n: 5, items: [] }));
    assert.deepEqual(await new DurableFile<Doc>(p, { validate: isDoc }).read(), { n: 5, items: [] });
  });

  it('missing main but a backup -> backup', async () => {
    const p = join(dir, 'j.json');
    writeFileSync(`${p}.bak`, JSON.stringify({ n: 9, items: [] }));
    const events: DurableFileEvent[] = [];
    assert.deepEqual(await new DurableFile<Doc>(p, { onEvent: (e) => events.push(e) }).read(), { n: 9, items: [] });
    assert.equal(events[0]?.kind, 'main-missing-used-backup');
  });

  it('serialises concurrent writes in call order; the data is snapshotted at call time', async () => {
    const p = join(dir, 'j.json');
    const f = new DurableFile<Doc>(p);
    const doc: Doc = { n: 0, items: [] };
    const ps: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      doc.n = i;
      ps.push(f.write(doc));
    }
    doc.n = 999; // mutated after the last write call: must not leak in
    await Promise.all(ps);
    assert.equal(JSON.parse(readFileSync(p, 'utf8')).n, 20);
    assert.equal(JSON.parse(readFileSync(`${p}.bak`, 'utf8')).n, 19);
  });

  it('removes temp files a killed writer left behind', async () => {
    const p = join(dir, 'j.json');
    writeFileSync(`${p}.tmp-123-4`, '{"half');
    await new DurableFile<Doc>(p).read();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('kill -9 at random points: the journal parses and no acknowledged ban is lost', async function () {
    this.timeout(90_000);
    const child = fileURLToPath(new URL('./journal-writer.child.ts', import.meta.url));
    const p = join(dir, 'journal.json');
    const acked = new Set<string>();
    const rounds = 6;
    for (let round = 0; round < rounds; round++) {
      await new Promise<void>((resolve, reject) => {
        const c = spawn(process.execPath, ['--import', 'tsx', child, p, String(round * 100_000)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let buf = '';
        let err = '';
        let killTimer: NodeJS.Timeout | undefined;
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) if (l.startsWith('ack ')) acked.add(l.slice(4));
          // Once it is writing, kill it at a random moment.
          killTimer ??= setTimeout(() => c.kill('SIGKILL'), 5 + Math.floor(Math.random() * 150));
        });
        const guard = setTimeout(() => c.kill('SIGKILL'), 30_000);
        c.on('exit', (code, sig) => {
          clearTimeout(guard);
          if (killTimer) clearTimeout(killTimer);
          if (sig === 'SIGKILL') resolve();
          else reject(new Error(`child exited ${code}: ${err}`));
        });
      });
      const events: DurableFileEvent[] = [];
      const j = await BanJournal.open(p, { onEvent: (e) => events.push(e) });
      const ids = new Set(j.all().map((e) => e.id));
      const lost = [...acked].filter((id) => !ids.has(id));
      assert.deepEqual(lost, [], `round ${round}: acknowledged bans lost (events ${JSON.stringify(events)})`);
      assert.equal(events.filter((e) => e.kind === 'corrupt-reset').length, 0);
    }
    assert.ok(acked.size > rounds, `only ${acked.size} acks`);
  });
});
