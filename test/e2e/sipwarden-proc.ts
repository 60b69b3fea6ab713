// Runs the real `sipwarden run` inside a lab namespace and reads its JSON log lines.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, spawnInNs, type LabHost } from './lab.ts';
import { withRuntimeOptions } from '../../src/ops/runtime.ts';
import { guardArgv } from './guard-argv.ts';

export type LogLine = Record<string, any>;

export class SipwardenProc {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  private child: ChildProcess | undefined;
  private buf = '';

  constructor(
    readonly configPath: string,
    private readonly host: LabHost = 'pbx',
  ) {}

  start(extraEnv: NodeJS.ProcessEnv = {}): void {
    // Niceness -5, as systemd/sipwarden.service runs it (nice execs: the PID stays the service's).
    // With the node options of the bin's shebang, as the unit runs it.
    this.child = spawnInNs(this.host, 'nice', ['-n', '-5', process.execPath, ...guardArgv('run', '--config', this.configPath, '--no-console')], {
      // The V8 options of the unit, too.
      env: { ...process.env, NODE_OPTIONS: withRuntimeOptions(process.env['NODE_OPTIONS']), ...extraEnv },
      cwd: REPO_ROOT,
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (c: string) => {
      this.buf += c;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ raw: line });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => this.stderr.push(c));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  decisions(): LogLine[] {
    return this.lines.filter((l) => l.event === 'decision');
  }

  async waitFor(pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine | undefined> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  }

  /** Stops the process we started (by its PID) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    const done = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    const code = await done;
    clearTimeout(t);
    return code;
  }

  tail(n = 30): string {
    return this.lines.slice(-n).map((l) => JSON.stringify(l).slice(0, 300)).join('\n') + '\n' + this.stderr.join('').slice(-2000);
  }
}

/** A config for the lab: the example config with lab AMI creds and a temp state dir. */
export function labConfig(over: (c: any) => void = () => {}): { path: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sw-e2e-'));
  const c = JSON.parse(readFileSync(join(REPO_ROOT, 'config/sipwarden.example.json'), 'utf8'));
  c.ami = { ...c.ami, host: '127.0.0.1', port: 5038, username: 'sipwarden', secret: 'lab-secret', reconnectInitial: '200ms', reconnectMax: '2s' };
  c.stateDir = join(dir, 'state');
  c.log = { level: 'info', fail2banFormat: false };
  over(c);
  const path = join(dir, 'sipwarden.json');
  writeFileSync(path, JSON.stringify(c, null, 2));
  return { path, stateDir: c.stateDir };
}
