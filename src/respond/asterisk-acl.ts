import { open, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { ActiveEntry, Responder } from './responder.ts';
import type { AmiActions } from './asterisk-ami.ts';
import { validateCidr } from './ip-validate.ts';
import { InFlightBatcher } from './in-flight-batcher.ts';

export interface AclResponderOptions {
  readonly ami: AmiActions;
  readonly logger: Logger;
  /** The file acl.conf includes (`#tryinclude sipwarden-acl.conf`). */
  readonly file: string;
  /** Named ACL the global PJSIP `type=acl` section (or endpoints' acl=) refers to. */
  readonly name: string;
  readonly now?: () => number;
}

/**
 * A named Asterisk ACL that sipwarden maintains, for a second line behind the
 * kernel (or the only one where no firewall may be touched). Measured on
 * Asterisk 22: with `[x] type=acl / acl=<name>` in pjsip.conf, rewriting the
 * named ACL and `Reload Module: acl` takes effect at once: banned hosts get
 * 403 before authentication. The file always holds the section, even empty:
 * a missing named ACL makes Asterisk reject everyone, trunks included.
 */
export class AclResponder implements Responder {
  readonly name = 'asterisk-acl';
  /** cidr -> expiry (ms) */
  private readonly entries = new Map<string, number>();
  private readonly batcher: InFlightBatcher<null>;
  private readonly now: () => number;
  private reloadPending = false;

  constructor(private readonly o: AclResponderOptions) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.name)) throw new Error(`bad ACL name ${JSON.stringify(o.name)}`);
    this.now = o.now ?? Date.now;
    this.batcher = new InFlightBatcher<null>(async (ops) => {
      try {
        await this.write();
        return ops.map(() => null);
      } catch (err) {
        return ops.map(() => err as Error);
      }
    });
  }

  handles(d: Decision): boolean {
    return d.action === 'ban-ip' && d.target.ip !== undefined;
  }

  /** Writes the file (always with the section: a missing ACL rejects everyone) and reloads when AMI is up. */
  async init(): Promise<void> {
    await this.write();
  }

  /** After a (re)connect: a reload that could not be sent while AMI was down. */
  async onConnected(): Promise<void> {
    if (this.reloadPending) await this.write();
  }

  async apply(d: Decision): Promise<void> {
    const c = validateCidr(d.target.ip);
    if (!c.ok) throw new Error(`refused: ${c.reason}`);
    this.entries.set(c.cidr, d.expiresAt);
    await this.batcher.submit(null);
  }

  async revoke(d: Decision): Promise<void> {
    const c = validateCidr(d.target.ip);
    if (!c.ok) return;
    if (this.entries.delete(c.cidr)) await this.batcher.submit(null);
  }

  async reconcile(): Promise<ActiveEntry[]> {
    const now = this.now();
    return [...this.entries].filter(([, t]) => t > now).map(([ip, t]) => ({ ip, remainingMs: t - now }));
  }

  /** The file text: one deny per live ban, nothing else. */
  render(now = this.now()): string {
    const lines = [`; Managed by sipwarden: rewritten on every ban and unban. Do not edit.`, `[${this.o.name}]`];
    for (const [cidr, until] of this.entries) {
      if (until <= now) continue;
      const c = validateCidr(cidr);
      if (c.ok) lines.push(`deny = ${c.cidr}`);
    }
    return lines.join('\n') + '\n';
  }

  private async write(): Promise<void> {
    const text = this.render();
    const tmp = join(dirname(this.o.file), `.${basename(this.o.file)}.${process.pid}.tmp`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.o.file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    let r;
    try {
      r = await this.o.ami.action({ Action: 'Reload', Module: 'acl' });
    } catch (err) {
      this.reloadPending = true;
      this.o.logger.warn({ error: (err as Error).message }, 'ACL file written; Asterisk reload deferred until AMI is back');
      return;
    }
    this.reloadPending = false;
    if (!r.ok) throw new Error(`Reload Module: acl failed: ${r.response.headers.find(([k]) => k === 'Message')?.[1] ?? ''}`);
  }

  async shutdown(): Promise<void> {}
}
