import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BanJournal, decisionOf, entryOf, journalPieces, targetKeyOf, type JournalData } from '../../../src/store/journal.ts';
import { NOW, ban } from '../respond/helpers.ts';

describe('store/journal', () => {
  let dir: string;
  let prevEnv: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swj-'));
    prevEnv = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'test'; // lowdb's presets would go in-memory here; we must not
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (prevEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = prevEnv;
  });

  it('records decisions with evidence and persists them (also under NODE_ENV=test)', async () => {
    const p = join(dir, 'journal.json');
    const j = await BanJournal.open(p, { now: () => NOW });
    j.record(ban('198.18.0.11', { offence: 2 }));
    await j.flush();
    const onDisk = JSON.parse(readFileSync(p, 'utf8'));
    assert.equal(onDisk.entries[0].evidence.sampleAccounts[0], '100');
    const k = await BanJournal.open(p, { now: () => NOW });
    assert.equal(k.byIp('::ffff:198.18.0.11')[0]?.offence, 2);
  });

  it('active(now), revocations, byIp, offences, prune', async () => {
    const j = await BanJournal.open(join(dir, 'j.json'), { now: () => NOW });
    j.record(ban('198.18.0.11', { id: 'a', time: NOW - 5000, expiresAt: NOW - 1 }));
    j.record(ban('198.18.0.11', { id: 'b', offence: 1 }));
    j.record(ban('198.18.0.12', { id: 'c' }));
    j.record(ban('198.18.0.13', { id: 'd', dryRun: true }));
    j.record(ban('198.18.0.14', { id: 'e', durationMs: 0, expiresAt: Number.POSITIVE_INFINITY }));
    j.record({ ...ban('198.18.0.15'), id: 'f', action: 'hangup', durationMs: 0, expiresAt: NOW });
    assert.deepEqual(j.active(NOW).map((e) => e.id), ['b', 'c', 'e']);
    assert.equal(j.get('e')?.expiresAt, null, 'permanent ban: no expiry (JSON has no Infinity)');
    assert.equal(decisionOf(j.get('e')!).expiresAt, Number.POSITIVE_INFINITY);
    assert.equal(j.revoke('c', 'operator'), true);
    assert.equal(j.revoke('c', 'again'), false);
    assert.deepEqual(j.active(NOW).map((e) => e.id), ['b', 'e']);
    assert.deepEqual(j.byIp('198.18.0.11').map((e) => e.id), ['a', 'b']);
    assert.equal(j.offences(targetKeyOf({ ip: '198.18.0.11' }), NOW - 10_000), 2);
    assert.equal(j.offences(targetKeyOf({ ip: '198.18.0.11' }), NOW - 1000), 1);
    assert.equal(j.revokeTarget('ip:198.18.0.11', 'unban').length, 1);
    assert.equal(j.prune(NOW + 86_400_000, 3_600_000), 5);
    assert.deepEqual(j.all().map((e) => e.id), ['e']);
    await j.flush();
  });

  it('coalesces writes: a storm of 2000 records costs a handful of writes', async () => {
    const j = await BanJournal.open(join(dir, 'j.json'), { now: () => NOW });
    let writes = 0;
    const orig = j.db.adapter.write.bind(j.db.adapter);
    j.db.adapter.write = (d) => {
      writes++;
      return orig(d);
    };
    for (let i = 0; i < 2000; i++) j.record(ban(`198.18.${i >> 8}.${i & 255}`, { id: `s${i}` }));
    await j.flush();
    assert.ok(writes <= 3, `${writes} writes`);
    const k = await BanJournal.open(join(dir, 'j.json'));
    assert.equal(k.all().length, 2000);
  });

  it('writes the file in pieces that make exactly what JSON.stringify makes, as of the write call', () => {
    for (const n of [0, 1, 499, 500, 501, 1234]) {
      const data: JournalData = { version: 1, entries: [] };
      for (let i = 0; i < n; i++) data.entries.push(entryOf(ban(`198.18.${i >> 8}.${i & 255}`, { id: `p${i}` })));
      const expected = JSON.stringify(data);
      const pieces = journalPieces(data);
      data.entries.push(entryOf(ban('198.18.99.99', { id: 'late' }))); // after the call: not in this write
      data.entries = [];
      assert.equal([...pieces].join(''), expected, `${n} entries`);
    }
  });

  it('canonical target keys', () => {
    assert.equal(targetKeyOf({ ip: '::ffff:198.18.0.1' }), 'ip:198.18.0.1');
    assert.equal(targetKeyOf({ ip: 'FD00:5157::0001' }), 'ip:fd00:5157::1');
    assert.equal(targetKeyOf({ ip: '198.18.4.9/24' }), 'ip:198.18.4.0/24');
    assert.equal(targetKeyOf({ account: '100' }), 'account:100');
    assert.equal(entryOf(ban('198.18.0.1')).expiresAt, NOW + 600_000);
  });
});
