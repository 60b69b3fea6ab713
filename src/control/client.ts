import { connect } from 'node:net';

export class ControlUnavailable extends Error {}

/** Sends one request to the running service's control socket. */
export function controlRequest(path: string, req: Record<string, unknown>, timeoutMs = 10_000): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlUnavailable(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'is sipwarden running? (no control socket at ' + path + ')' : err.code === 'EACCES' ? `permission denied on ${path}: run as the sipwarden service user or root` : err.message;
      reject(new ControlUnavailable(hint));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf));
      } catch {
        reject(new ControlUnavailable('bad answer from the control socket'));
      }
    });
  });
}
