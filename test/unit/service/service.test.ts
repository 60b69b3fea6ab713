import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FakeAmi } from '../ami/fake-ami-server.ts';
import { Service } from '../../../src/service/service.ts';
import { controlRequest } from '../../../src/control/client.ts';
import { DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { FIXTURES } from '../../helpers/fixtures.ts';
import { BanJournal } from '../../../src/store/journal.ts';
import { ban } from '../respond/helpers.ts';

function capture() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

async function until<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The default config for a test service in `dir` (state in dir/state, no trunk discovery), written; its path. */
function configIn(dir: string, mode: 'dry-run' | 'enforce', ami: Record<string, unknown>): string {
  const c = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
  Object.assign(c.ami, ami);
  c.mode = mode;
  c.stateDir = join(dir, 'state');
  c.trunks.discover = false;
  const path = join(dir, 'c.json');
  writeFileSync(path, JSON.stringify(c));
  return path;
}

/** The events of a capture, as Asterisk would send them after login. */
function eventsOf(file: string): string {
  const text = readFileSync(join(FIXTURES, file), 'latin1');
  return text.slice(text.indexOf('\r\n\r\n', text.indexOf('Response: Success')) + 4);
}

describe('service (fake AMI, dry-run)', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'sw-svc-'));
  const ami = new FakeAmi();
  let service: Service;
  let cfgPath: string;
  const log = capture();
  const sock = () => join(dir, 'state', 'control.sock');

  before(async () => {
    const port = await ami.start();
    ami.secret = 'lab-secret';
    cfgPath = configIn(dir, 'dry-run', { port, secret: 'lab-secret', reconnectInitial: '100ms' });
    service = new Service({ configPath: cfgPath, logger: log.logger });
    await service.start();
    await until(() => service.connection?.status === 'connected');
  });
  after(async () => {
    await service?.stop();
    await ami.close();
  });

  it('turns the AMI event stream of a real attack into a ban decision', async () => {
    ami.broadcast(eventsOf('bruteforce-svcrack.ami'));
    const d = await until(() => log.lines.find((l) => l.event === 'decision'));
    assert.equal(d.action, 'ban-ip');
    assert.equal(d.ip, '198.18.0.11');
    assert.equal(d.rule, 'sip-auth-burst');
    assert.equal(d.attempts, 5);
    assert.equal(d.dryRun, true);
    assert.equal(typeof d.expiry, 'string');
  });

  it('goes on after malformed frames and hostile text, logging them escaped', async () => {
    ami.broadcast('Event: InvalidAccountID\r\nService: PJSIP\r\nAccountID: \x1b[2Jx\r\nSessionID: s\r\nRemoteAddress: IPV4/UDP/not-an-ip/5060\r\n\r\n');
    ami.broadcast('garbage without colon\r\n\r\n');
    ami.broadcast(eventsOf('extension-scan-svwar.ami'));
    await until(() => log.lines.find((l) => l.event === 'decision' && l.ip === '198.18.0.12'));
    const skipped = log.lines.filter((l) => l.msg === 'frame skipped');
    assert.ok(skipped.some((l) => l.reason === 'bad-remote-address'), JSON.stringify(skipped));
    assert.doesNotMatch(JSON.stringify(log.lines), /\u001b/);
  });

  it('answers bans / ban / why / unban on its owner-only control socket', async () => {
    const bad = await controlRequest(sock(), { cmd: 'ban', ip: '1.2.3.4; rm -rf /' });
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /refused/);
    const lo = await controlRequest(sock(), { cmd: 'ban', ip: '127.0.0.1' });
    assert.match(lo.error!, /loopback/);
    const ok = await controlRequest(sock(), { cmd: 'ban', ip: '198.18.7.7', for: '2h', reason: 'seen in the logs' });
    assert.equal(ok.ok, true, ok.error);
    const bans = (await controlRequest(sock(), { cmd: 'bans' })).result as any[];
    assert.deepEqual(bans.map((b) => b.target.ip).sort(), ['198.18.0.11', '198.18.0.12', '198.18.7.7']);
    const why = (await controlRequest(sock(), { cmd: 'why', ip: '198.18.0.11' })).result as any;
    assert.equal(why.history[0].rule, 'sip-auth-burst');
    assert.equal(why.history[0].evidence.attempts, 5);
    assert.equal(why.active.rule, 'sip-auth-burst');
    assert.equal(why.active.evidence.attempts, 5);
    assert.match(why.active.reason, /banned for/);
    assert.equal(bans.find((b) => b.target.ip === '198.18.7.7')?.reason, 'seen in the logs');
    assert.match(bans.find((b) => b.target.ip === '198.18.0.11')?.reason, /banned for/);
    const un = (await controlRequest(sock(), { cmd: 'unban', ip: '198.18.7.7' })).result as any;
    assert.equal(un.wasBanned, true);
    const after = (await controlRequest(sock(), { cmd: 'bans' })).result as any[];
    assert.ok(!after.some((b) => b.target.ip === '198.18.7.7'));
  });

  it('reloads without losing bans, and keeps the running config when the new one is bad', async () => {
    const c = JSON.parse(readFileSync(cfgPath, 'utf8'));
    c.rules[0].threshold = 6;
    writeFileSync(cfgPath, JSON.stringify(c));
    const guard = service.tollFraud;
    assert.deepEqual(service.reload(), { ok: true });
    assert.equal(service.config.rules[0]!.threshold, 6);
    assert.notEqual(service.tollFraud, guard, 'the toll-fraud guard takes the new call limits');
    assert.ok(service.pipeline.policy.activeDecisions().some((d) => d.target.ip === '198.18.0.11'));
    c.rules[0].threshold = 'many';
    writeFileSync(cfgPath, JSON.stringify(c));
    const r = service.reload();
    assert.equal(r.ok, false);
    assert.equal(service.config.rules[0]!.threshold, 6);
    c.rules[0].threshold = 5;
    writeFileSync(cfgPath, JSON.stringify(c));
  });

  it('refuses a second instance on the same state dir', async () => {
    const second = new Service({ configPath: cfgPath, logger: pino({ level: 'silent' }) });
    await assert.rejects(second.start(), /another sipwarden \(pid \d+\) is running with state dir/);
  });
});

describe('service without a firewall tool', function () {
  this.timeout(20_000);
  it('says loudly that nft is missing and keeps detecting and journaling', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-nonft-'));
    const ami = new FakeAmi();
    const port = await ami.start();
    ami.secret = 's';
    configIn(dir, 'enforce', { port, secret: 's' });
    const log = capture();
    const service = new Service({ configPath: join(dir, 'c.json'), logger: log.logger });
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'empty-bin'); // no nft, no iptables on this PATH
    try {
      await service.start();
    } finally {
      process.env.PATH = path;
    }
    try {
      const loud = log.lines.find((l) => l.level >= 50 && /nftables unusable/.test(l.msg));
      assert.ok(loud, JSON.stringify(log.lines.slice(0, 5)));
      assert.match(loud.msg, /nft/);
      assert.match(loud.msg, /NO KERNEL BANS/);
      await until(() => service.connection?.status === 'connected');
      ami.broadcast(eventsOf('bruteforce-svcrack.ami'));
      await until(() => log.lines.find((l) => l.event === 'decision' && l.ip === '198.18.0.11'));
      await service.journal!.flush();
      const j = JSON.parse(readFileSync(join(dir, 'state', 'journal.json'), 'utf8'));
      assert.ok(j.entries.some((e: any) => e.target.ip === '198.18.0.11'), 'journaled');
    } finally {
      await service.stop();
      await ami.close();
    }
  });

  it('drops bans that ended before the offence window from the journal, keeps the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-prune-'));
    configIn(dir, 'dry-run', { port: 1, secret: 's', reconnectInitial: '10s' });
    const now = Date.now();
    const day = 86_400_000;
    mkdirSync(join(dir, 'state'), { mode: 0o700 });
    const j = await BanJournal.open(join(dir, 'state', 'journal.json'));
    // The default offence window is 7 days.
    j.record(ban('198.18.0.21', { id: 'ended-8d-ago', time: now - 9 * day, expiresAt: now - 8 * day }));
    j.record(ban('198.18.0.22', { id: 'ended-6d-ago', time: now - 7 * day, expiresAt: now - 6 * day }));
    j.record(ban('198.18.0.23', { id: 'standing', time: now - 1000, expiresAt: now + 600_000 }));
    await j.close();
    const out = capture();
    const s = new Service({ configPath: join(dir, 'c.json'), logger: out.logger });
    await s.start();
    await s.stop();
    const kept = JSON.parse(readFileSync(join(dir, 'state', 'journal.json'), 'utf8')).entries.map((e: { id: string }) => e.id);
    assert.deepEqual(kept, ['ended-6d-ago', 'standing']);
    assert.ok(out.lines.some((l) => l.component === 'journal' && l.dropped === 1), 'the drop is logged');
  });

  it('shows the evidence of a ban from before a restart (why, bans)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-restart-'));
    const ami = new FakeAmi();
    const port = await ami.start();
    ami.secret = 's';
    configIn(dir, 'enforce', { port, secret: 's', reconnectInitial: '100ms' });
    const sock = join(dir, 'state', 'control.sock');
    const start = async () => {
      const s = new Service({ configPath: join(dir, 'c.json'), logger: pino({ level: 'silent' }) });
      const path = process.env.PATH;
      process.env.PATH = join(dir, 'empty-bin'); // no nft, no iptables: bans are journaled only
      try {
        await s.start();
      } finally {
        process.env.PATH = path;
      }
      return s;
    };
    let service = await start();
    try {
      await until(() => service.connection?.status === 'connected');
      // Event times of now: the ban must still stand after the restart.
      let t = Date.now();
      ami.broadcast(eventsOf('bruteforce-svcrack.ami').replace(/EventTV: \S+/g, () => `EventTV: ${new Date(t++).toISOString().replace('Z', '+0000')}`));
      await until(() => service.pipeline.policy.activeFor({ ip: '198.18.0.11' }));
      await service.stop();
      service = await start();
      const why = (await controlRequest(sock, { cmd: 'why', ip: '198.18.0.11' })).result as any;
      assert.equal(why.active?.rule, 'sip-auth-burst');
      assert.equal(why.active.evidence.attempts, 5);
      assert.match(why.active.reason, /banned for/);
      const bans = (await controlRequest(sock, { cmd: 'bans' })).result as any[];
      assert.match(bans.find((b) => b.target.ip === '198.18.0.11')?.reason, /banned for/);
    } finally {
      await service.stop();
      await ami.close();
    }
  });
});
