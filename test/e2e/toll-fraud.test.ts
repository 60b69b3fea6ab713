// End-to-end toll-fraud guard against the real Asterisk 22 lab: the project's
// dialplan gate (dialplan/sipwarden.conf) + the sipwarden service, sipp as a
// registered phone (1002 from 198.18.0.13) launching an international burst.
// Own lab prefix so other engineers' labs are left alone.
process.env.SIPWARDEN_LAB_PREFIX ??= 'swtf';

import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { guardArgv } from './guard-argv.ts';

type Lab = typeof import('./lab.ts');
let lab: Lab;

interface LogLine { time: number; event?: string; action?: string; channel?: string; account?: string; ip?: string; rule?: string; msg?: string; expiry?: string }

describe('e2e: toll-fraud guard against the real Asterisk', function () {
  this.timeout(240_000);
  let dir = '';
  let svc: ChildProcess | undefined;
  const logs: LogLine[] = [];
  let proxy: { path: string; stop(): Promise<void> } | undefined;
  let watcher: net.Socket | undefined;
  /** Uniqueid -> wall-clock arrival of Newchannel / Hangup (with cause), seen by our own AMI session. */
  const chans = new Map<string, { channel: string; exten: string; born: number; gone?: number; cause?: string }>();

  before(async function () {
    lab = await import('./lab.ts');
    const a = lab.labAvailable();
    const missing = lab.missingTools('sipp');
    if (!a.ok || missing.length) {
      console.log(`      (toll-fraud e2e skipped: ${a.why ?? `missing ${missing.join(', ')}`})`);
      this.skip();
    }
    await lab.labUp();
    // The project's gate, as an admin would install it.
    lab.writeAsteriskConf('sipwarden-dialplan.conf', readFileSync(new URL('../../dialplan/sipwarden.conf', import.meta.url), 'utf8'));
    await lab.asteriskCli('dialplan reload');
    const shown = await lab.asteriskCli('dialplan show sipwarden-outbound');
    assert.match(shown, /GROUP_COUNT/, 'the real gate is loaded, not the placeholder');

    dir = mkdtempSync(join(tmpdir(), 'sw-tf-'));
    const example = JSON.parse(readFileSync(new URL('../../config/sipwarden.example.json', import.meta.url), 'utf8'));
    const cfg = {
      ...example,
      ami: { ...example.ami, host: lab.AMI.host, port: lab.AMI.port, username: lab.AMI.username, secret: lab.AMI.secret },
      stateDir: dir,
      firewall: { ...example.firewall, backend: 'none' },
      asterisk: { ...example.asterisk, maintenanceBlock: false },
      tollFraud: { ...example.tollFraud, response: { ...example.tollFraud.response, blockIntl: '20s', blockAccount: '20s', banIpFor: '20s' } },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));

    // Our own AMI session, through the lab's unix-socket bridge: wall-clock times of Newchannel/Hangup.
    proxy = await lab.startAmiProxy();
    watcher = net.connect(proxy.path);
    let buf = '';
    watcher.on('data', (d: Buffer) => {
      const now = Date.now();
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const f: Record<string, string> = {};
        for (const line of block.split('\r\n')) {
          const k = line.indexOf(': ');
          if (k > 0) f[line.slice(0, k)] = line.slice(k + 2);
        }
        if (f.Event === 'Newchannel' && f.Uniqueid === f.Linkedid) chans.set(f.Uniqueid!, { channel: f.Channel!, exten: f.Exten ?? '', born: now });
        if (f.Event === 'Hangup' && chans.has(f.Uniqueid!)) Object.assign(chans.get(f.Uniqueid!)!, { gone: now, cause: f.Cause });
      }
    });
    watcher.write(`Action: Login\r\nUsername: ${lab.AMI.username}\r\nSecret: ${lab.AMI.secret}\r\nEvents: call\r\n\r\n`);

    svc = lab.spawnInNs('pbx', process.execPath, guardArgv('run', '--config', join(dir, 'config.json'), '--no-console'), { cwd: lab.REPO_ROOT });
    let out = '';
    svc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        try {
          logs.push(JSON.parse(line));
        } catch {
          /* not JSON */
        }
      }
    });
    svc.stderr?.on('data', (d: Buffer) => process.stderr.write(`      [sipwarden] ${d}`));
    const up = await lab.waitFor(() => logs.some((l) => /re-learnt from CoreShowChannels/.test(l.msg ?? '')), 30_000);
    assert.ok(up, `sipwarden did not connect to AMI: ${logs.map((l) => l.msg).join(' | ')}`);
  });

  after(async function () {
    if (svc && svc.exitCode === null) {
      const closed = new Promise((r) => svc!.once('close', r));
      svc.kill('SIGTERM');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    }
    watcher?.destroy();
    await proxy?.stop();
    if (lab && lab.labAvailable().ok) await lab.labDown().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a burst of 12 satellite calls at 4/s: at most 3 get through, and those are hung up within a second', async () => {
    const r = await lab.runSipp('h13', { scenario: 'uac_auth_call.xml', csv: lab.authCsv('1002', lab.SIP_ACCOUNTS['1002']), service: '011882161234567', calls: 12, rate: 4, timeoutMs: 30_000 });
    await lab.waitFor(() => [...chans.values()].every((c) => c.gone !== undefined), 10_000);
    const burst = [...chans.values()].filter((c) => c.channel.startsWith('PJSIP/1002-'));
    assert.equal(burst.length, 12, `12 calls reached Asterisk (sipp exit ${r.code})`);
    const decisions = logs.filter((l) => l.event === 'decision');
    const hangups = decisions.filter((d) => d.action === 'hangup');
    const refusedByGate = burst.filter((c) => !hangups.some((h) => h.channel === c.channel));
    // Calls that were up (answered) are the ones sipwarden hung up; the rest the gate refused.
    const hungUp = burst.filter((c) => hangups.some((h) => h.channel === c.channel));
    const ms = hungUp.map((c) => {
      const h = hangups.find((x) => x.channel === c.channel)!;
      return { life: c.gone! - c.born, afterDecision: c.gone! - h.time };
    });
    const sippOk = Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(r.stdout)?.[1] ?? '0');
    console.log(
      `      burst: ${burst.length} calls, ${sippOk} answered for the attacker, ${hungUp.length} with a sipwarden hangup (call life ${ms.map((m) => m.life).join('/')} ms, Hangup ${ms.map((m) => m.afterDecision).join('/')} ms after the decision), ${refusedByGate.length} refused by the dialplan gate; decisions: ${decisions.map((d) => `${d.action}:${d.rule}`).join(', ')}`,
    );
    assert.ok(sippOk <= 3, `at most 3 calls completed for the attacker (sipp says ${sippOk})`);
    assert.ok(decisions.some((d) => d.action === 'block-intl' && d.account === '1002'), 'international dialing of 1002 blocked');
    for (const m of ms) assert.ok(m.life < 1000 || m.afterDecision < 1000, `hung up within a second (${JSON.stringify(m)})`);
    const answeredLong = burst.filter((c) => c.gone! - c.born > 1000);
    assert.ok(answeredLong.length === 0, `no burst call lived over a second: ${answeredLong.map((c) => `${c.channel} ${c.gone! - c.born}ms`).join(', ')}`);
    // AstDB holds the expiry (epoch s), so the gate ends the block on time even without sipwarden.
    const db = await lab.asteriskCli('database get sipwarden/intl-block 1002');
    const until = Number(/Value:\s*(\d+)/.exec(db)?.[1]);
    const now = Date.now() / 1000;
    assert.ok(until > now && until <= now + 21, `intl-block expiry ${until} is ~20 s ahead (now ${Math.floor(now)})`);
  });

  it("a second account's normal international call goes through", async () => {
    const r = await lab.runSipp('h11', { scenario: 'uac_auth_call.xml', csv: lab.authCsv('1001', lab.SIP_ACCOUNTS['1001']), service: '00442079460000', calls: 1, timeoutMs: 20_000 });
    assert.equal(r.code, 0, `1001's call to London completed: ${r.stdout.slice(-400)}`);
    const c = [...chans.values()].find((x) => x.channel.startsWith('PJSIP/1001-'));
    // sipp returns on the 200 to its BYE; the Hangup event may still be on its way.
    await lab.waitFor(() => c?.gone !== undefined, 5_000);
    assert.ok(c && c.gone! - c.born >= 2500, `it stayed up until the phone hung up (${c ? c.gone! - c.born : 'no channel'} ms)`);
  });

  it('the AstDB blocks expire as configured, and the gate lets 1002 through again', async () => {
    const blocked = await lab.runSipp('h13', { scenario: 'uac_auth_call.xml', csv: lab.authCsv('1002', lab.SIP_ACCOUNTS['1002']), service: '00442079460000', calls: 1, timeoutMs: 10_000 });
    assert.notEqual(blocked.code, 0, 'still blocked right after the burst');
    const exp = logs.filter((l) => l.event === 'decision' && (l.action === 'block-intl' || l.action === 'block-account') && l.expiry).map((l) => Date.parse(l.expiry!));
    const wait = Math.max(...exp) - Date.now() + 6500; // + one expiry sweep (5 s) for the DBDel
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const db = await lab.asteriskCli('database show sipwarden');
    const now = Date.now() / 1000;
    for (const key of ['intl-block/1002', 'block/1002']) {
      const v = new RegExp(`/sipwarden/${key}\\s*:\\s*(\\d+)`).exec(db)?.[1];
      assert.ok(v === undefined || Number(v) <= now, `${key} gone or expired (${v}) at ${Math.floor(now)}:\n${db}`);
    }
    const before = logs.length;
    const r = await lab.runSipp('h13', { scenario: 'uac_auth_call.xml', csv: lab.authCsv('1002', lab.SIP_ACCOUNTS['1002']), service: '00442079460000', calls: 1, timeoutMs: 20_000 });
    await lab.waitFor(() => logs.slice(before).some((l) => l.event === 'decision'), 3000);
    const after = logs.slice(before).filter((l) => l.event === 'decision');
    console.log(`      1002 after expiry: sipp exit ${r.code}; decisions: ${after.map((d) => `${d.action}:${d.rule}`).join(', ') || 'none'}`);
    // Past the gate now; the hourly limit (intl-rate, 10/h) still counts the burst, so sipwarden itself decides.
    assert.ok(after.length === 0 || after.some((d) => d.rule === 'intl-rate'), 'the gate no longer refuses: any decision is the hourly limit');
  });
});
