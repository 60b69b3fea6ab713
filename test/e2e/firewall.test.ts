// End-to-end: real kernel, real nft/iptables/ipset/conntrack, but only
// inside two network namespaces this test creates (swfw-<pid>-a/-b, joined
// by a veth pair created inside them: the host's interfaces and ruleset
// are never touched). 198.18.1.1 (a, "the PBX") <-> 198.18.1.2 (b, "the attacker").
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import type { Decision } from '../../src/domain/types.ts';
import { IptablesIpsetResponder } from '../../src/respond/iptables-ipset.ts';
import { NftablesResponder } from '../../src/respond/nftables.ts';
import { runCommand } from '../../src/respond/run-command.ts';
import { ScannerDrop } from '../../src/respond/scanner-drop.ts';

const silent = pino({ level: 'silent' });
const A = `swfw-${process.pid}-a`;
const B = `swfw-${process.pid}-b`;
const PBX = '198.18.1.1';
const ATTACKER = '198.18.1.2';

async function must(file: string, args: string[], stdin?: string): Promise<string> {
  const r = await runCommand(file, args, stdin, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, file: string, args: string[], stdin?: string): Promise<string> => must('ip', ['netns', 'exec', ns, file, ...args], stdin);

async function skipReason(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nft)';
  for (const tool of ['nft', 'ip']) {
    try {
      const r = await runCommand(tool, tool === 'ip' ? ['-V'] : ['--version']);
      if (r.code !== 0) return `${tool} not usable`;
    } catch {
      return `${tool} is not installed`;
    }
  }
  return null;
}

async function labUp(): Promise<void> {
  await must('ip', ['netns', 'add', A]);
  await must('ip', ['netns', 'add', B]);
  await must('ip', ['-n', A, 'link', 'set', 'lo', 'up']);
  await must('ip', ['-n', B, 'link', 'set', 'lo', 'up']);
  // Created inside A with its peer moved straight into B.
  await must('ip', ['-n', A, 'link', 'add', 'swa', 'type', 'veth', 'peer', 'name', 'swb', 'netns', B]);
  await must('ip', ['-n', A, 'addr', 'add', `${PBX}/24`, 'dev', 'swa']);
  await must('ip', ['-n', B, 'addr', 'add', `${ATTACKER}/24`, 'dev', 'swb']);
  await must('ip', ['-n', A, 'link', 'set', 'swa', 'up']);
  await must('ip', ['-n', B, 'link', 'set', 'swb', 'up']);
}

async function labDown(): Promise<void> {
  await runCommand('ip', ['netns', 'del', A]).catch(() => {});
  await runCommand('ip', ['netns', 'del', B]).catch(() => {});
}

const LISTENER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => process.stdout.write('msg ' + m.length + '\\n'));
s.bind(5060, '0.0.0.0', () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 120000);
`;
const SENDER = `
const [count, srcPort, host, b64] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
const payload = Buffer.from(b64, 'base64');
s.bind(Number(srcPort), () => {
  let i = 0;
  const t = setInterval(() => {
    s.send(payload, 5060, host);
    if (++i >= Number(count)) { clearInterval(t); setTimeout(() => process.exit(0), 50); }
  }, 10);
});
`;

class Listener {
  received = 0;
  private proc: ChildProcess | null = null;
  async start(): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', A, process.execPath, '-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc = p;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('listener did not start')), 10_000);
      let buf = '';
      p.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          if (l === 'ready') {
            clearTimeout(t);
            resolve();
          } else if (l.startsWith('msg ')) this.received++;
        }
      });
    });
  }
  stop(): void {
    this.proc?.kill('SIGKILL');
    this.proc = null;
  }
}

/** Send `count` datagrams from the attacker, wait for stragglers, return how many arrived. */
async function sendFromAttacker(l: Listener, count: number, srcPort: number, payload = 'OPTIONS sip:100@198.18.1.1 SIP/2.0\r\n\r\n'): Promise<number> {
  const before = l.received;
  await inNs(B, process.execPath, ['-e', SENDER, String(count), String(srcPort), PBX, Buffer.from(payload).toString('base64')]);
  await new Promise((r) => setTimeout(r, 300));
  return l.received - before;
}

function decision(ip: string): Decision {
  const now = Date.now();
  return {
    id: `e2e-${ip}`,
    action: 'ban-ip',
    target: { ip },
    rule: 'e2e',
    reason: 'e2e',
    time: now,
    durationMs: 600_000,
    expiresAt: now + 600_000,
    offence: 0,
    allPorts: false,
    evidence: { attempts: 1, events: 1, first: '', last: '', sampleAccounts: [], sampleIps: [ip] },
    dryRun: false,
  };
}

async function trackedFlows(): Promise<number> {
  const r = await runCommand('ip', ['netns', 'exec', A, 'conntrack', '-L', '-p', 'udp', '-s', ATTACKER]);
  return r.stdout.split('\n').filter((l) => l.includes('dport=5060')).length;
}

const SIP = (ua: string): string =>
  `OPTIONS sip:100@${PBX} SIP/2.0\r\nVia: SIP/2.0/UDP ${ATTACKER}:5070;branch=z9hG4bK-1\r\nFrom: <sip:x@${ATTACKER}>;tag=1\r\nTo: <sip:100@${PBX}>\r\nCall-ID: e2e-1\r\nCSeq: 1 OPTIONS\r\nUser-Agent: ${ua}\r\nContent-Length: 0\r\n\r\n`;

describe('e2e firewall (network namespaces)', function () {
  this.timeout(60_000);
  let listener: Listener;

  before(async function () {
    const why = await skipReason();
    if (why) {
      console.log(`    skipping e2e firewall tests: ${why}`);
      this.skip();
    }
  });

  beforeEach(async () => {
    await labDown();
    await labUp();
    listener = new Listener();
    await listener.start();
  });

  afterEach(async () => {
    listener?.stop();
    await labDown();
  });

  it('nftables: a ban drops SIP from the source and cuts a flow tracked before the ban', async () => {
    // Someone else's firewall in the namespace: accepts established flows first.
    await inNs(A, 'nft', ['-f', '-'], 'table inet userfw {\n chain input { type filter hook input priority 0; policy drop;\n ct state established,related accept\n iif lo accept\n udp dport 5060 accept\n }\n}\n');
    const r = new NftablesResponder({ netns: A, logger: silent });
    await r.init();
    assert.equal(await sendFromAttacker(listener, 5, 40000), 5, 'flow established before the ban');
    assert.ok((await trackedFlows()) >= 1, 'the flow is tracked');

    await r.apply(decision(ATTACKER));
    await r.flush();
    assert.equal(await trackedFlows(), 0, 'conntrack entries of the banned source deleted');
    assert.equal(await sendFromAttacker(listener, 5, 40000), 0, 'tracked flow cut');
    assert.equal(await sendFromAttacker(listener, 5, 40001), 0, 'new flow dropped');
    assert.ok(((await r.counters())['ban4 udp']?.packets ?? 0) >= 10);
    const live = await r.reconcile();
    assert.equal(live[0]?.ip, ATTACKER);
    assert.ok((live[0]?.remainingMs ?? 0) > 590_000);

    // The user's table is untouched; revoke lets traffic back in.
    assert.match(await inNs(A, 'nft', ['list', 'tables']), /userfw/);
    await r.revoke(decision(ATTACKER));
    await r.flush();
    assert.equal(await sendFromAttacker(listener, 5, 40002), 5, 'revoked');
    await r.uninstall();
    assert.doesNotMatch(await inNs(A, 'nft', ['list', 'tables']), /sipwarden/);
  });

  it('iptables+ipset: same, with the chain in raw/PREROUTING', async function () {
    for (const t of ['iptables', 'ipset', 'conntrack']) {
      if ((await runCommand(t, ['--version']).catch(() => ({ code: 127 }))).code !== 0) this.skip();
    }
    await inNs(A, 'iptables', ['-A', 'INPUT', '-m', 'state', '--state', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
    await inNs(A, 'iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '5060', '-j', 'ACCEPT']);
    const r = new IptablesIpsetResponder({ netns: A, logger: silent });
    await r.init();
    await r.init(); // idempotent
    assert.equal(await sendFromAttacker(listener, 5, 41000), 5);
    assert.ok((await trackedFlows()) >= 1);

    await r.apply(decision(ATTACKER));
    await r.flush();
    assert.equal(await sendFromAttacker(listener, 5, 41000), 0, 'tracked flow cut');
    assert.equal(await sendFromAttacker(listener, 5, 41001), 0, 'new flow dropped');
    assert.ok(((await r.counters())['ban4 udp']?.packets ?? 0) >= 10);
    const jumps = (await inNs(A, 'iptables', ['-t', 'raw', '-S', 'PREROUTING'])).split('\n').filter((l) => l.includes('-j SIPWARDEN'));
    assert.equal(jumps.length, 1, 'one jump after two inits');
    assert.equal((await r.reconcile())[0]?.ip, ATTACKER);

    await r.revoke(decision(ATTACKER));
    await r.flush();
    assert.equal(await sendFromAttacker(listener, 5, 41002), 5, 'revoked');
    await r.uninstall();
    assert.doesNotMatch(await inNs(A, 'iptables-save', ['-t', 'raw']), /SIPWARDEN/);
    assert.match(await inNs(A, 'iptables-save', ['-t', 'filter']), /--dport 5060 -j ACCEPT/, "the user's rules stay");
  });

  it('scanner drop: friendly-scanner dropped, Yealink received, counter shows it', async function () {
    if ((await runCommand('iptables', ['--version']).catch(() => ({ code: 127 }))).code !== 0) this.skip();
    const s = new ScannerDrop({ netns: A, logger: silent });
    await s.init();
    await s.init();
    assert.equal(await sendFromAttacker(listener, 3, 42000, SIP('friendly-scanner')), 0);
    assert.equal(await sendFromAttacker(listener, 3, 42001, SIP('FRIENDLY-SCANNER')), 0, 'case-insensitive');
    assert.equal(await sendFromAttacker(listener, 3, 42002, SIP('Yealink SIP-T46S 66.86.0.15')), 3);
    const c = await s.counters();
    assert.equal(c['friendly-scanner']?.packets, 6);
    assert.equal(c['sipvicious']?.packets, 0);
    await s.uninstall();
    assert.doesNotMatch(await inNs(A, 'iptables-save', ['-t', 'raw']), /SIPWARDEN-SCANNERS/);
    assert.equal(await sendFromAttacker(listener, 3, 42003, SIP('friendly-scanner')), 3, 'gone after uninstall');
  });
});
