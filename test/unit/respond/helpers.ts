import type { Decision } from '../../../src/domain/types.ts';
import type { Exec, ExecResult } from '../../../src/respond/run-command.ts';

export const NOW = 1_800_000_000_000;

export function ban(ip: string, over: Partial<Decision> = {}): Decision {
  return {
    id: `d-${ip}`,
    action: 'ban-ip',
    target: { ip },
    rule: 'sip-bruteforce',
    reason: 'test',
    time: NOW,
    durationMs: 600_000,
    expiresAt: NOW + 600_000,
    offence: 0,
    allPorts: false,
    evidence: { attempts: 5, events: 7, first: new Date(NOW).toISOString(), last: new Date(NOW).toISOString(), sampleAccounts: ['100'], sampleIps: [ip] },
    dryRun: false,
    ...over,
  };
}

export interface Call {
  file: string;
  args: string[];
  stdin?: string;
}

/** A fake Exec that records calls; `reply` decides the result per call. */
export function fakeExec(reply: (c: Call) => Partial<ExecResult> | Error = () => ({})): { exec: Exec; calls: Call[] } {
  const calls: Call[] = [];
  const exec: Exec = async (file, args, stdin) => {
    const c: Call = stdin === undefined ? { file, args } : { file, args, stdin };
    calls.push(c);
    const r = reply(c);
    if (r instanceof Error) throw r;
    return { code: 0, stdout: '', stderr: '', ...r };
  };
  return { exec, calls };
}
