// How fast does a ban reach the kernel? Compares the two nft strategies
// (one `nft -f -` per batch vs a long-lived `nft -i`), measuring from the
// apply() call to its promise resolving (= the nft transaction committed,
// element visible in the set), and checks the set really holds every ban.
//
// Runs itself inside a fresh network namespace (unshare -n): the host's
// ruleset is never touched. Needs root. Usage:
//   node --import tsx bench/reaction/nft-batch.bench.ts [count=2000]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Decision } from '../../src/domain/types.ts';
import { NftablesResponder } from '../../src/respond/nftables.ts';
import { runCommand } from '../../src/respond/run-command.ts';

const COUNT = Math.max(1, Math.min(20_000, Number(process.argv[2] ?? 2000)));

if (process.env['SW_BENCH_IN_NS'] !== '1') {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync('unshare', ['-n', '--', process.execPath, '--import', 'tsx', self, String(COUNT)], {
    stdio: 'inherit',
    env: { ...process.env, SW_BENCH_IN_NS: '1' },
  });
  process.exit(r.status ?? 1);
}

function decision(i: number): Decision {
  const now = Date.now();
  // 198.18.0.0/15 only: 2 x 65536 addresses, plenty.
  const ip = `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  return {
    id: `b${i}`,
    action: 'ban-ip',
    target: { ip },
    rule: 'bench',
    reason: 'bench',
    time: now,
    durationMs: 600_000,
    expiresAt: now + 600_000,
    offence: 0,
    allPorts: false,
    evidence: { attempts: 1, events: 1, first: '', last: '', sampleAccounts: [], sampleIps: [] },
    dryRun: false,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function countInSet(): Promise<number> {
  const r = await runCommand('nft', ['-j', 'list', 'set', 'inet', 'sipwarden', 'ban4']);
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  return doc.nftables.find((x) => x.set)?.set?.elem?.length ?? 0;
}

async function reset(): Promise<void> {
  await runCommand('nft', ['flush', 'set', 'inet', 'sipwarden', 'ban4']);
}

interface Row {
  strategy: string;
  mode: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
  totalMs: number;
  spawns: number;
  visible: number;
}

async function run(strategy: 'oneshot' | 'interactive' | 'auto', mode: 'sequential' | 'burst' | 'paced', conntrack: boolean): Promise<Row> {
  let spawns = 0;
  const r = new NftablesResponder({
    strategy,
    conntrack,
    logger: pino({ level: 'silent' }),
    exec: (f, a, s) => {
      if (f === 'nft') spawns++;
      return runCommand(f, a, s);
    },
  });
  await r.init();
  await reset();
  spawns = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  if (mode === 'sequential') {
    for (let i = 0; i < COUNT; i++) {
      const s = performance.now();
      await r.apply(decision(i));
      lat.push(performance.now() - s);
    }
  } else if (mode === 'burst') {
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) => {
        const s = performance.now();
        return r.apply(decision(i)).then(() => lat.push(performance.now() - s));
      }),
    );
  } else {
    // One ban per ms: a realistic storm, neither one-by-one nor all at once.
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < COUNT; i++) {
      const s = performance.now();
      jobs.push(r.apply(decision(i)).then(() => lat.push(performance.now() - s)));
      await new Promise((res) => setTimeout(res, 1));
    }
    await Promise.all(jobs);
  }
  await r.flush();
  const totalMs = performance.now() - t0;
  const visible = await countInSet();
  await r.shutdown();
  return { strategy, mode: conntrack ? `${mode}+conntrack` : mode, n: COUNT, p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat), totalMs, spawns, visible };
}

const rows: Row[] = [];
for (const mode of ['sequential', 'burst', 'paced'] as const) {
  for (const strategy of ['oneshot', 'interactive', 'auto'] as const) rows.push(await run(strategy, mode, false));
}
// conntrack -D runs behind the ban (apply resolves at commit); flush() waits for it.
for (const strategy of ['oneshot', 'auto'] as const) rows.push(await run(strategy, 'sequential', true));

const f = (x: number): string => x.toFixed(2);
console.log(`nft batch strategies, ${COUNT} single-element bans, kernel ${spawnSync('uname', ['-r']).stdout.toString().trim()}`);
console.log('| strategy | mode | n | p50 ms | p99 ms | max ms | total ms | nft spawns/batches | in set |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.strategy} | ${r.mode} | ${r.n} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.totalMs)} | ${r.strategy === 'interactive' ? '1 process' : r.strategy === 'auto' ? `1 process + ${r.spawns} spawns` : r.spawns} | ${r.visible} |`);
}
