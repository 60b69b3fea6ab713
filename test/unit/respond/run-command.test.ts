import assert from 'node:assert/strict';
import {
  CommandTimeoutError,
  MissingToolError,
  PermissionError,
  createExec,
  expectOk,
  mapLimit,
  netnsArgv,
  runCommand,
  withNetns,
} from '../../../src/respond/run-command.ts';
import { fakeExec } from './helpers.ts';

describe('respond/run-command', () => {
  it('runs without a shell: metacharacters stay literal arguments', async () => {
    const r = await runCommand(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '; echo pwned', '$(id)']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), ['; echo pwned', '$(id)']);
  });

  it('feeds stdin and captures stdout, stderr and the exit code', async () => {
    const r = await runCommand(
      process.execPath,
      ['-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{process.stdout.write(s.toUpperCase());process.stderr.write("e");process.exit(3)})'],
      'add element\n',
    );
    assert.deepEqual(r, { code: 3, stdout: 'ADD ELEMENT\n', stderr: 'e' });
  });

  it('maps ENOENT to MissingToolError naming the tool', async () => {
    await assert.rejects(runCommand('nft-definitely-not-installed', []), (e: unknown) => e instanceof MissingToolError && e.tool === 'nft-definitely-not-installed' && /not found/.test(e.message));
  });

  it('kills a hung child after the timeout', async () => {
    await assert.rejects(runCommand(process.execPath, ['-e', 'setTimeout(()=>{}, 60000)'], undefined, { timeoutMs: 200 }), CommandTimeoutError);
  });

  it('prefixes ip netns exec, and validates the namespace name', async () => {
    assert.deepEqual(netnsArgv('nft', ['-f', '-'], 'swfw-1'), ['ip', ['netns', 'exec', 'swfw-1', 'nft', '-f', '-']]);
    assert.deepEqual(netnsArgv('nft', ['-f', '-']), ['nft', ['-f', '-']]);
    assert.throws(() => netnsArgv('nft', [], 'a b'));
    assert.throws(() => createExec({ netns: '../x' }));
    const f = fakeExec();
    await withNetns(f.exec, 'swfw-2')('conntrack', ['-D', '-s', '198.18.0.1']);
    assert.deepEqual(f.calls, [{ file: 'ip', args: ['netns', 'exec', 'swfw-2', 'conntrack', '-D', '-s', '198.18.0.1'] }]);
  });

  it('maps a missing tool inside a namespace to MissingToolError', async () => {
    const f = fakeExec(() => ({ code: 255, stderr: 'exec of "nft" failed: No such file or directory\n' }));
    await assert.rejects(withNetns(f.exec, 'swfw-3')('nft', ['--version']), MissingToolError);
  });

  it('turns "Operation not permitted" into a PermissionError naming CAP_NET_ADMIN', () => {
    assert.throws(
      () => expectOk('nft', ['-f', '-'], { code: 1, stdout: '', stderr: 'Error: Could not process rule: Operation not permitted\n' }),
      (e: unknown) => e instanceof PermissionError && /CAP_NET_ADMIN/.test(e.message),
    );
  });

  it('mapLimit bounds concurrency', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return n * 2;
    });
    assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
    assert.equal(peak, 3);
  });
});
