import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { Responder } from './responder.ts';

/** What this responder needs of the AMI client. */
export interface AmiActions {
  action(fields: Record<string, string>, opts?: { timeoutMs?: number }): Promise<{ ok: boolean; response: { headers: ReadonlyArray<readonly [string, string]> } }>;
}

/** Endpoint names we hand to Asterisk; never `all` (PJSIPSetMaintenance would take every endpoint down). */
export const SAFE_ENDPOINT = /^[A-Za-z0-9_.@+-]{1,64}$/;
/** Exact channel names as Asterisk makes them (`PJSIP/1002-0000000a`); never a `/regex/`. */
export const SAFE_CHANNEL = /^[A-Za-z0-9]{2,16}\/[A-Za-z0-9_.@:+;-]{1,128}$/;

export interface AsteriskResponderOptions {
  readonly ami: AmiActions;
  readonly logger: Logger;
  /** AstDB family root (config asterisk.astdbFamily). */
  readonly family: string;
  /** Use PJSIPSetMaintenance where Asterisk has it. */
  readonly maintenance: boolean;
  /** Hangups with a Uniqueid go over ARI (another responder); AMI takes the rest. */
  readonly ariHangups?: boolean;
  readonly now?: () => number;
}

function message(r: { response: { headers: ReadonlyArray<readonly [string, string]> } }): string {
  return r.response.headers.find(([k]) => k === 'Message')?.[1] ?? '';
}

/**
 * Asterisk-side responses over AMI:
 *  - block-account: AstDB `<family>/block/<account>` = expiry (epoch s), which
 *    the dialplan include checks on every outbound call (any Asterisk version),
 *    plus PJSIPSetMaintenance where available (new requests get 503);
 *  - block-intl: AstDB `<family>/intl-block/<account>`;
 *  - hangup: AMI Hangup with the exact channel name and a cause.
 * Values carry the expiry, so blocks end on time even if sipwarden is down.
 */
export class AsteriskResponder implements Responder {
  readonly name = 'asterisk';
  private maintenanceAvailable: boolean | undefined;
  private readonly now: () => number;

  constructor(private readonly o: AsteriskResponderOptions) {
    this.now = o.now ?? Date.now;
  }

  handles(d: Decision): boolean {
    if (d.action === 'hangup') return !(this.o.ariHangups && d.target.uniqueId);
    return d.action === 'block-account' || d.action === 'block-intl';
  }

  async init(): Promise<void> {}

  private async act(fields: Record<string, string>): Promise<{ ok: boolean; message: string }> {
    const r = await this.o.ami.action(fields);
    return { ok: r.ok, message: message(r) };
  }

  async apply(d: Decision): Promise<void> {
    if (d.action === 'hangup') return this.hangup(d);
    const account = d.target.account ?? '';
    if (!SAFE_ENDPOINT.test(account) || account.toLowerCase() === 'all') throw new Error('refused: account name is not a plain endpoint name');
    const until = Math.ceil((d.expiresAt || this.now() + d.durationMs) / 1000);
    const sub = d.action === 'block-intl' ? 'intl-block' : 'block';
    const put = await this.act({ Action: 'DBPut', Family: `${this.o.family}/${sub}`, Key: account, Val: String(until) });
    if (!put.ok) throw new Error(`DBPut ${this.o.family}/${sub}/${account} failed: ${put.message}`);
    if (d.action === 'block-account' && this.o.maintenance && this.maintenanceAvailable !== false) await this.maintenance(account, 'on');
  }

  async revoke(d: Decision): Promise<void> {
    if (d.action === 'hangup') return;
    const account = d.target.account ?? '';
    if (!SAFE_ENDPOINT.test(account) || account.toLowerCase() === 'all') return;
    const sub = d.action === 'block-intl' ? 'intl-block' : 'block';
    await this.act({ Action: 'DBDel', Family: `${this.o.family}/${sub}`, Key: account });
    if (d.action === 'block-account' && this.o.maintenance && this.maintenanceAvailable) await this.maintenance(account, 'off');
  }

  private async maintenance(endpoint: string, state: 'on' | 'off'): Promise<void> {
    const r = await this.act({ Action: 'PJSIPSetMaintenance', Endpoint: endpoint, State: state });
    if (r.ok) {
      this.maintenanceAvailable = true;
      return;
    }
    if (/invalid\/unknown command|no such command/i.test(r.message)) {
      // Older Asterisk (before 20.20 / 22.10 / 23.4): the AstDB key and the dialplan include still block.
      this.maintenanceAvailable = false;
      this.o.logger.warn('PJSIPSetMaintenance is not in this Asterisk: account blocks rely on the dialplan include (AstDB) only');
      return;
    }
    throw new Error(`PJSIPSetMaintenance ${endpoint} ${state} failed: ${r.message}`);
  }

  private async hangup(d: Decision): Promise<void> {
    const channel = d.target.channel ?? '';
    // A value in /…/ is a regex to AMI Hangup: never build one from event text.
    if (!SAFE_CHANNEL.test(channel) || channel.startsWith('/')) throw new Error('refused: not an exact channel name');
    const r = await this.act({ Action: 'Hangup', Channel: channel, Cause: '21' });
    if (!r.ok && !/no such channel/i.test(r.message)) throw new Error(`Hangup failed: ${r.message}`);
  }

  /** Heartbeat the dialplan include reads to tell whether sipwarden runs. */
  async heartbeat(): Promise<void> {
    await this.act({ Action: 'DBPut', Family: `${this.o.family}/heartbeat`, Key: 'ts', Val: String(Math.floor(this.now() / 1000)) });
  }

  async shutdown(): Promise<void> {}
}
