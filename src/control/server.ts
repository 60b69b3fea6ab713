import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import type { Logger } from 'pino';

export type ControlHandler = (req: Record<string, unknown>) => Promise<unknown>;

const MAX_REQUEST = 4096;

/**
 * The local control socket behind `sipwarden bans|ban|unban|why`: a Unix
 * socket in the state dir, mode 0600 (owner only), one JSON request line ->
 * one JSON answer line. No network listener, so nothing remote can unban.
 */
export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handlers: Record<string, ControlHandler>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // A socket left by a killed instance; the state-dir lock says it is ours now.
    if (existsSync(this.path) && lstatSync(this.path).isSocket()) unlinkSync(this.path);
    const server = createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const old = process.umask(0o177);
      server.listen(this.path, () => {
        process.umask(old);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(sock: Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) return void sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      void this.answer(buf.slice(0, nl)).then((ans) => sock.end(JSON.stringify(ans) + '\n'));
    });
  }

  private async answer(line: string): Promise<unknown> {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line);
    } catch {
      return { ok: false, error: 'not JSON' };
    }
    const handler = typeof req.cmd === 'string' ? this.handlers[req.cmd] : undefined;
    if (!handler) return { ok: false, error: `unknown command ${JSON.stringify(String(req.cmd).slice(0, 20))}` };
    try {
      return { ok: true, result: await handler(req) };
    } catch (err) {
      this.logger.warn({ cmd: req.cmd, error: (err as Error).message }, 'control command failed');
      return { ok: false, error: (err as Error).message };
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
