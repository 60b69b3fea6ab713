// Child for the kill -9 test: records bans as fast as it can, flushing
// each, and prints "ack <id>" only once flush() resolved (= acknowledged).
import { BanJournal } from '../../../src/store/journal.ts';

const [path, startArg] = process.argv.slice(2);
// Loaded by a mocha run over this folder, argv[2] is a test path: the journal's corrupt-file
// handling would then move that folder aside. Only the kill -9 test's journal file is written.
if (!path || !path.endsWith('.json') || process.argv.some((a) => a.includes('mocha'))) throw new Error('usage: journal-writer.child.ts <path.json> <start>');
const start = Number(startArg ?? 0);
const j = await BanJournal.open(path);
for (let i = start; i < start + 100_000; i++) {
  const now = Date.now();
  j.record({
    id: `k-${i}`,
    action: 'ban-ip',
    target: { ip: `198.18.${(i >> 8) & 255}.${i & 255}` },
    rule: 'r',
    reason: 'x'.repeat(200),
    time: now,
    durationMs: 600_000,
    expiresAt: now + 600_000,
    offence: 0,
    allPorts: false,
    evidence: { attempts: 1, events: 1, first: '', last: '', sampleAccounts: ['a'], sampleIps: [] },
    dryRun: false,
  });
  await j.flush();
  process.stdout.write(`ack k-${i}\n`);
}
