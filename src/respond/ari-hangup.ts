import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { Responder } from './responder.ts';

export interface AriHangupOptions {
  /** Base URL of ARI, e.g. `http://127.0.0.1:8088/ari`. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** Per request; default 2000 ms. A hangup that takes longer is worth retrying over AMI. */
  readonly timeoutMs?: number;
  /** Q.850 cause sent as reason_code; default 21 (call rejected). */
  readonly cause?: number;
  readonly logger?: Logger;
  /** For tests. */
  readonly fetch?: typeof fetch;
}

/** Asterisk Uniqueids look like `1795346327.12` (or a custom id set by the originator). */
export const SAFE_UNIQUEID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Hangs up by channel id over ARI (`DELETE /ari/channels/{uniqueid}`), with
 * Node's fetch. No ari-client: its swagger layer throws from inside a
 * callback on a 401/500 (the process dies, try/catch cannot help) and it
 * pulls in the deprecated `request` (see docs/toll-fraud.md).
 */
export class AriHangupResponder implements Responder {
  readonly name = 'ari-hangup';
  private readonly auth: string;
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly o: AriHangupOptions) {
    this.auth = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
    this.base = o.url.replace(/\/+$/, '');
    this.doFetch = o.fetch ?? fetch;
  }

  handles(d: Decision): boolean {
    return d.action === 'hangup' && d.target.uniqueId !== undefined;
  }

  async init(): Promise<void> {
    // One cheap authenticated request: a wrong password shows at start, not at the first attack.
    const r = await this.request('GET', '/asterisk/info?only=build');
    if (r.status === 401 || r.status === 403) throw new Error(`ARI refused the credentials (HTTP ${r.status})`);
    if (!r.ok) throw new Error(`ARI not usable: HTTP ${r.status}`);
  }

  async apply(d: Decision): Promise<void> {
    const id = d.target.uniqueId ?? '';
    if (!SAFE_UNIQUEID.test(id)) throw new Error('refused: not a channel unique id');
    const cause = this.o.cause ?? 21;
    const r = await this.request('DELETE', `/channels/${encodeURIComponent(id)}?reason_code=${cause}`);
    // 404: the channel is already gone, which is what we wanted.
    if (r.ok || r.status === 404) return;
    throw new Error(`ARI hangup of ${id} failed: HTTP ${r.status}${r.status === 401 ? ' (credentials refused)' : ''}`);
  }

  private async request(method: string, path: string): Promise<{ ok: boolean; status: number }> {
    const res = await this.doFetch(`${this.base}${path}`, {
      method,
      headers: { authorization: this.auth, accept: 'application/json' },
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 2000),
    });
    // Drain the body so the connection is reused, and never let its content reach a log raw.
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.ok, status: res.status };
  }

  async revoke(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
