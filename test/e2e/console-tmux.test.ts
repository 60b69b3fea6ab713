// The live console as a person sees it: sipwarden runs in a real terminal
// (tmux, private socket), the test reads the screen with capture-pane. Demo:
// no root needed. `sipwarden run` against the real Asterisk lab during an
// svcrack attack plus REGISTERs whose account carries escape sequences: root + lab.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardArgv } from './guard-argv.ts';

// lab.ts reads the prefix when evaluated; '?ops' gives this private instance, and the
// variable is put back so suites loaded after this file keep their own prefix.
const savedPrefix = process.env.SIPWARDEN_LAB_PREFIX;
process.env.SIPWARDEN_LAB_PREFIX ??= 'swops';
const lab = (await import(new URL('./lab.ts?ops', import.meta.url).href)) as typeof import('./lab.ts');
if (savedPrefix === undefined) delete process.env.SIPWARDEN_LAB_PREFIX;

const BIN = fileURLToPath(new URL('../../bin/sipwarden.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../config/sipwarden.example.json', import.meta.url));
const SOCK = `swtest-${process.pid}`;
const hasTmux = !spawnSync('tmux', ['-V'], { stdio: 'ignore' }).error;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCK, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
/** With -e, colours and any escape that reached the terminal show as ESC sequences. */
const screenRaw = (s: string) => tmux('capture-pane', '-p', '-e', '-t', s);

async function waitScreen(s: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen(s);
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`screen never matched ${re} within ${timeoutMs} ms; last screen with scrollback:\n${tmux('capture-pane', '-p', '-S', '-200', '-t', s)}`);
}

/** Sessions started here; only these are killed, then our private server. */
const sessions: string[] = [];
function newSession(name: string, argv: string[]): void {
  tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '50', ...argv);
  tmux('set-option', '-t', name, 'remain-on-exit', 'on');
  sessions.push(name);
}

describe('ops: the live console in a real terminal (tmux)', function () {
  this.timeout(90_000);

  before(function () {
    if (!hasTmux) {
      console.log('      (skipped: tmux not installed)');
      this.skip();
    }
  });

  after(() => {
    for (const s of sessions) spawnSync('tmux', ['-L', SOCK, 'kill-session', '-t', s], { stdio: 'ignore', timeout: 5000 });
    spawnSync('tmux', ['-L', SOCK, 'kill-server'], { stdio: 'ignore', timeout: 5000 });
    // kill-server leaves the socket file of our private server behind.
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCK), { force: true });
  });

  it('`sipwarden demo`: the attacker, the rule and the ban are on screen; the terminal is not hijacked', async () => {
    newSession('demo', [process.execPath, BIN, 'demo', '--speed', '40', '--hold', '60']);
    const s = await waitScreen('demo', /AMI: replay finished/, 60_000);
    assert.match(s, /^sipwarden\s+AMI: replay finished/m);
    assert.match(s, /ban-ip\s+198\.18\.0\.11\s+sip-auth-burst/);
    assert.match(s, /ban-ip\s+198\.18\.0\.13\s+extension-scan/);
    assert.match(s, /5 failed attempts from ip 198\.18\.0\.11 within 60s \(threshold 5\); banned for 10m/);
    // hostile-accountid.ami carries ESC ] 0;owned BEL (set the window title): it must not reach tmux.
    assert.notEqual(tmux('display-message', '-p', '-t', 'demo', '#{pane_title}').trim(), 'owned');
  });

  it('`sipwarden demo | cat`: hostile AccountIDs are shown escaped, never executed', async () => {
    newSession('demopipe', ['sh', '-c', `"$0" "$1" demo --speed 200 | cat; sleep 60`, process.execPath, BIN]);
    const s = await waitScreen('demopipe', /^demo: \d+ security events/m, 60_000);
    assert.ok(s.includes('accounts=\\x1b[2J\\x1b[31mPWNED\\x1b[0m,\\x1b]0;owned\\x07admin'), s);
    assert.ok(!screenRaw('demopipe').includes('\x1b[31mPWNED'), 'raw SGR from attacker text reached the terminal');
    assert.notEqual(tmux('display-message', '-p', '-t', 'demopipe', '#{pane_title}').trim(), 'owned');
  });

  describe('`sipwarden run` against the real Asterisk during an attack', function () {
    let up = false;
    let dir = '';

    before(async function () {
      lab.skipWithoutLab(this, 'svcrack', 'nft', 'timeout');
      await lab.labUp();
      up = true;
      dir = mkdtempSync(join(tmpdir(), 'swops-tmux-'));
    });

    after(async () => {
      if (sessions.includes('run')) {
        // Ctrl-C: a clean stop (SIGINT). Killing the session would send SIGHUP, which means reload.
        spawnSync('tmux', ['-L', SOCK, 'send-keys', '-t', 'run', 'C-c'], { stdio: 'ignore', timeout: 5000 });
        const pid = Number(spawnSync('tmux', ['-L', SOCK, 'display-message', '-p', '-t', 'run', '#{pane_pid}'], { encoding: 'utf8' }).stdout.trim());
        await lab.waitFor(() => spawnSync('tmux', ['-L', SOCK, 'display-message', '-p', '-t', 'run', '#{pane_dead}'], { encoding: 'utf8' }).stdout.trim() === '1', 10_000);
        if (pid > 1 && spawnSync('tmux', ['-L', SOCK, 'display-message', '-p', '-t', 'run', '#{pane_dead}'], { encoding: 'utf8' }).stdout.trim() !== '1') {
          try {
            process.kill(pid, 'SIGKILL'); // `ip netns exec` exec()s node: this pid is our sipwarden
          } catch {
            /* gone */
          }
        }
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (up) await lab.labDown();
    });

    it('shows the attacker, the rule, the ban, and a hostile account escaped; metrics and nft agree', async () => {
      const c = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
      c.ami.secret = lab.AMI.secret;
      c.stateDir = join(dir, 'state');
      // svcrack says User-Agent: friendly-scanner; the scanner drop would stop it before Asterisk sees a guess.
      c.scannerDrop = { enabled: false };
      c.metrics = { enabled: true, host: '127.0.0.1', port: 9477 };
      const cfg = join(dir, 'sipwarden.json');
      writeFileSync(cfg, JSON.stringify(c));
      // In the pbx namespace: AMI on its loopback, and nft changes only that namespace's ruleset.
      newSession('run', ['ip', 'netns', 'exec', lab.nsName('pbx'), process.execPath, ...guardArgv('run', '--config', cfg)]);
      await waitScreen('run', /AMI: connected/, 20_000);

      // An account name with an escape sequence, as an attacker sends it (percent-encoded; Asterisk decodes it).
      const reg = `const s=require('node:dgram').createSocket('udp4');s.bind(5099,'${lab.IP.h13}',async()=>{for(let i=0;i<3;i++){const id='hostile-'+Date.now()+'-'+i;s.send(['REGISTER sip:${lab.IP.pbx} SIP/2.0','Via: SIP/2.0/UDP ${lab.IP.h13}:5099;branch=z9hG4bK'+id,'Max-Forwards: 70','From: <sip:%1b%5b31mPWNED@${lab.IP.pbx}>;tag='+i,'To: <sip:%1b%5b31mPWNED@${lab.IP.pbx}>','Call-ID: '+id,'CSeq: 1 REGISTER','Contact: <sip:x@${lab.IP.h13}:5099>','Content-Length: 0','',''].join('\\r\\n'),5060,'${lab.IP.pbx}');await new Promise(r=>setTimeout(r,100));}setTimeout(()=>s.close(),300);});`;
      const h = await lab.inNs('h13', process.execPath, ['-e', reg], { timeoutMs: 10_000 });
      assert.equal(h.code, 0, h.stderr);

      const guesses = ['123456', 'password', '1001', 'qwerty', 'letmein', 'admin', '0000', '1111'];
      writeFileSync(join(dir, 'dict.txt'), guesses.join('\n') + '\n');
      const attack = lab.inNs('h11', 'timeout', ['25', 'svcrack', '-u', '1001', '-x', lab.IP.h11, '-d', join(dir, 'dict.txt'), lab.IP.pbx], { cwd: dir, env: { ...process.env, HOME: dir }, timeoutMs: 30_000 });
      const s = await waitScreen('run', /ban-ip\s+198\.18\.0\.11\s+sip-auth-burst/, 30_000);
      await attack;
      assert.match(s, /^sipwarden\s+AMI: connected/m);
      assert.match(s, /mode enforce/);
      assert.match(s, /^198\.18\.0\.11\s+\d+/m, 'the attacker in "failures by source"');
      const now = await waitScreen('run', /\\x1b\[31mPWNED/, 10_000);
      assert.match(now, /\\x1b\[31mPWNED\s+3/, 'the hostile account, escaped, in "failures by account"');
      assert.ok(!screenRaw('run').includes('\x1b[31mPWNED'), 'raw SGR from attacker text reached the terminal');

      const nft = await lab.inNs('pbx', 'nft', ['list', 'set', 'inet', 'sipwarden', 'ban4']);
      assert.match(nft.stdout, /198\.18\.0\.11/);
      const scrape = await lab.inNs('pbx', process.execPath, ['-e', "fetch('http://127.0.0.1:9477/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"], { timeoutMs: 10_000 });
      assert.match(scrape.stdout, /sipwarden_decisions_total\{action="ban-ip",rule="sip-auth-burst"\} 1/);
      assert.match(scrape.stdout, /sipwarden_ami_connected 1/);
      assert.match(scrape.stdout, /sipwarden_attempts_total\{service="PJSIP",outcome="failure"\} ([5-9]|\d\d)/);
      const bans = spawnSync(process.execPath, [BIN, 'bans', '--state-dir', join(dir, 'state')], { encoding: 'utf8', timeout: 15_000 });
      assert.match(bans.stdout, /198\.18\.0\.11\s+ban-ip/);
    });
  });
});
