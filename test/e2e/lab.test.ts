// Smoke test of the real-Asterisk lab: a phone registers, svcrack guesses passwords,
// and AMI reports every guess. Needs root and the chroot (scripts/lab/build-chroot.sh);
// skipped otherwise unless SIPWARDEN_LAB_REQUIRED=1.
//   npx mocha test/e2e/lab.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IP,
  SIP_ACCOUNTS,
  amiRecorder,
  asteriskCli,
  authCsv,
  inNs,
  skipWithoutLab,
  labDown,
  labUp,
  parseAmiFrames,
  runSipp,
  waitFor,
} from './lab.ts';

describe('lab: real Asterisk 22 in network namespaces', function () {
  this.timeout(60_000);
  let up = false;

  before(async function () {
    skipWithoutLab(this, 'sipp', 'svcrack', 'timeout');
    await labUp();
    up = true;
  });

  after(async () => {
    if (up) await labDown();
  });

  it('registers 1004 with the right password from h12', async () => {
    const r = await runSipp('h12', { scenario: 'register_auth.xml', csv: authCsv('1004', SIP_ACCOUNTS['1004']) });
    assert.equal(r.code, 0, `sipp failed:\n${r.stdout.slice(-1500)}\n${r.stderr}`);
    const contacts = await asteriskCli('pjsip show contacts');
    assert.match(contacts, /1004\/sip:1004@198\.18\.0\.12:5012/);
  });

  it('reports svcrack password guesses from h11 as ChallengeResponseFailed on AMI', async () => {
    const rec = amiRecorder({ events: 'security', timeoutMs: 40_000 });
    const dir = mkdtempSync(join(tmpdir(), 'sw-svcrack-'));
    try {
      await rec.ready;
      const guesses = ['123456', 'password', '1001', 'qwerty', 'letmein', 'admin', '0000', '1111'];
      writeFileSync(join(dir, 'dict.txt'), guesses.join('\n') + '\n');
      // svcrack hangs at "trying to get self ip" without a default route: pass -x (own IP)
      const r = await inNs(
        'h11',
        'timeout',
        ['20', 'svcrack', '-u', '1001', '-x', IP.h11, '-d', join(dir, 'dict.txt'), IP.pbx],
        { cwd: dir, env: { ...process.env, HOME: dir }, timeoutMs: 25_000 },
      );
      assert.notEqual(r.code, 124, `svcrack timed out:\n${r.stdout}\n${r.stderr}`);
      const failedIn = (frames: Array<Record<string, string>>) =>
        frames.filter((f) => f.Event === 'ChallengeResponseFailed' && f.RemoteAddress?.startsWith(`IPV4/UDP/${IP.h11}/`));
      // AMI delivers the last events a little after svcrack exits: wait for them (bounded), then stop.
      await waitFor(() => failedIn(parseAmiFrames(rec.peek())).length >= guesses.length, 5000);
      const failed = failedIn(parseAmiFrames(await rec.stop()));
      assert.ok(failed.length >= guesses.length, `expected >= ${guesses.length} ChallengeResponseFailed from ${IP.h11}, got ${failed.length}; svcrack said:\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-500)}`);
      assert.ok(failed.every((f) => f.Service === 'PJSIP'));
      const distinct = new Set(failed.map((f) => `${f.SessionID}|${f.Response}`));
      assert.equal(distinct.size, guesses.length, 'one distinct (SessionID, Response) per guess');
    } finally {
      await rec.stop().catch(() => '');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
