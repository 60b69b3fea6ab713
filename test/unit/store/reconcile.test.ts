import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '../../../src/domain/types.ts';
import type { ActiveEntry, Responder } from '../../../src/respond/responder.ts';
import { BanJournal, entryOf } from '../../../src/store/journal.ts';
import { executeReconcile, planReconcile, reconcileOnStart } from '../../../src/store/reconcile.ts';
import { NOW, ban } from '../respond/helpers.ts';

describe('store/reconcile', () => {
  it('plans re-adds, retimes, removals and adoptions', () => {
    const entries = [
      entryOf(ban('198.18.0.1', { id: 'missing', expiresAt: NOW + 300_000 })),
      entryOf(ban('198.18.0.2', { id: 'insync' })),
      entryOf(ban('198.18.0.3', { id: 'offtime' })),
      entryOf(ban('198.18.0.4', { id: 'expired', expiresAt: NOW - 1 })),
      { ...entryOf(ban('198.18.0.5', { id: 'revoked' })), revokedAt: NOW - 10 },
      entryOf(ban('198.18.0.6', { id: 'dry', dryRun: true })),
      entryOf(ban('198.18.0.7', { id: 'all', allPorts: true })),
      entryOf(ban('198.18.4.0/24', { id: 'net' })),
      entryOf(ban('198.18.0.8', { id: 'perm', durationMs: 0, expiresAt: Number.POSITIVE_INFINITY })),
    ];
    const kernel: ActiveEntry[] = [
      { ip: '198.18.0.2', remainingMs: 590_000, allPorts: false },
      { ip: '198.18.0.3', remainingMs: 60_000, allPorts: false },
      { ip: '198.18.0.4', remainingMs: 1_000, allPorts: false },
      { ip: '198.18.0.5', remainingMs: 500_000, allPorts: false },
      { ip: '198.18.0.7', remainingMs: 600_000, allPorts: false }, // SIP-only in kernel, all-port in journal
      { ip: '198.18.4.0/24', remainingMs: 600_000, allPorts: true },
      { ip: '198.18.0.8', remainingMs: 31_536_000_000, allPorts: false },
      { ip: '198.18.0.99', remainingMs: 100_000, allPorts: false },
    ];
    const plan = planReconcile(entries, kernel, NOW);
    assert.deepEqual(plan.readd.map((r) => [r.entry.id, r.remainingMs]), [['missing', 300_000], ['all', 600_000]]);
    assert.deepEqual(plan.retime.map((r) => r.entry.id), ['offtime']);
    assert.deepEqual(plan.remove.map((r) => [r.kernel.ip, r.why]), [['198.18.0.4', 'expired'], ['198.18.0.5', 'revoked']]);
    assert.deepEqual(plan.adopt.map((k) => k.ip), ['198.18.0.7', '198.18.0.99']);
    assert.equal(plan.inSync, 3);
  });

  it('executes through the responder, adopts drift into the journal, reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swrec-'));
    try {
      const j = await BanJournal.open(join(dir, 'j.json'), { now: () => NOW });
      j.record(ban('198.18.0.1', { id: 'missing' }));
      j.record(ban('198.18.0.4', { id: 'expired', expiresAt: NOW - 1 }));
      j.record(ban('198.18.0.9', { id: 'bad-kernel' }));
      const applied: Decision[] = [];
      const revoked: Decision[] = [];
      const responder: Responder = {
        name: 'fake',
        handles: () => true,
        init: async () => {},
        apply: async (d) => {
          if (d.target.ip === '198.18.0.9') throw new Error('kernel says no');
          applied.push(d);
        },
        revoke: async (d) => void revoked.push(d),
        reconcile: async () => [
          { ip: '198.18.0.4', remainingMs: 1000, allPorts: false },
          { ip: '198.18.0.77', remainingMs: 50_000, allPorts: true },
        ],
        shutdown: async () => {},
      };
      const report = await reconcileOnStart(responder, j, NOW);
      assert.deepEqual(applied.map((d) => d.id), ['missing']);
      assert.equal(applied[0]?.expiresAt, NOW + 600_000, 're-added with the original end');
      assert.deepEqual(revoked.map((d) => d.target.ip), ['198.18.0.4']);
      assert.deepEqual({ ...report, failures: report.failures.length }, { readded: 1, retimed: 0, removed: 1, adopted: 1, inSync: 0, failures: 1 });
      const adopted = j.byIp('198.18.0.77')[0];
      assert.equal(adopted?.origin, 'unknown-origin');
      assert.equal(adopted?.allPorts, true);
      assert.equal(adopted?.expiresAt, NOW + 50_000);
      // Second run: nothing left to do for the adopted entry.
      const plan2 = planReconcile(j.all(), [{ ip: '198.18.0.77', remainingMs: 50_000, allPorts: true }, { ip: '198.18.0.1', remainingMs: 600_000, allPorts: false }], NOW);
      assert.equal(plan2.adopt.length, 0);
      assert.equal(plan2.inSync, 2);
      void executeReconcile;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
