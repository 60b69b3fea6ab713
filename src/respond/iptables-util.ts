// Shared by the ipset backend and the scanner drop: our chains live in the
// raw table, entered by one jump at the top of raw/PREROUTING.
import { PermissionError, expectOk, isPermissionFailure, type Exec } from './run-command.ts';

export const iptTool = (f: 4 | 6): string => (f === 4 ? 'iptables' : 'ip6tables');

/** Insert `-j chain` at the top of raw/PREROUTING unless it is there already. */
export async function ensureRawJump(exec: Exec, f: 4 | 6, chain: string, dryRun = false): Promise<void> {
  const tool = iptTool(f);
  const check = await exec(tool, ['-w', '-t', 'raw', '-C', 'PREROUTING', '-j', chain]);
  if (check.code === 0 && !dryRun) return;
  if (isPermissionFailure(check.stderr)) throw new PermissionError(tool, check.stderr);
  const args = ['-w', '-t', 'raw', '-I', 'PREROUTING', '1', '-j', chain];
  expectOk(tool, args, await exec(tool, args));
}

/** Remove our jump(s), then flush and delete our chain; nothing else is touched. */
export async function removeRawChain(exec: Exec, f: 4 | 6, chain: string): Promise<void> {
  const tool = iptTool(f);
  // Bounded: a jump inserted twice by hand goes too.
  for (let i = 0; i < 10; i++) {
    const r = await exec(tool, ['-w', '-t', 'raw', '-D', 'PREROUTING', '-j', chain]);
    if (r.code !== 0) break;
  }
  await exec(tool, ['-w', '-t', 'raw', '-F', chain]);
  await exec(tool, ['-w', '-t', 'raw', '-X', chain]);
}
