// The dry-run twin: the real backend's code path end to end (validation,
// timeouts, batching, the exact nft batch / ipset text), with an Exec that
// logs instead of running. Needs no privileges and no firewall tools.
import { pino, type Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { DryRunRecord } from './dry-run-exec.ts';
import { IptablesIpsetResponder, type IptablesIpsetOptions } from './iptables-ipset.ts';
import { NftablesResponder, type NftablesOptions } from './nftables.ts';
import type { ActiveEntry, Responder } from './responder.ts';

export { dryRunExec, type DryRunRecord } from './dry-run-exec.ts';

export type DryRunBackend = 'nftables' | 'iptables-ipset';

export interface DryRunOptions {
  readonly backend?: DryRunBackend;
  readonly logger?: Logger;
  /** Keep at most this many records for inspection (default 1000). */
  readonly keep?: number;
  readonly nftables?: Omit<NftablesOptions, 'dryRun' | 'exec' | 'logger' | 'onDryRun'>;
  readonly iptables?: Omit<IptablesIpsetOptions, 'dryRun' | 'exec' | 'logger' | 'onDryRun'>;
}

export class DryRunResponder implements Responder {
  readonly name: string;
  private readonly inner: NftablesResponder | IptablesIpsetResponder;
  private readonly keep: number;
  /** What would have been run, newest last. */
  readonly records: DryRunRecord[] = [];

  constructor(opts: DryRunOptions = {}) {
    const logger = opts.logger ?? pino({ name: 'sipwarden-dry-run' });
    this.keep = opts.keep ?? 1000;
    const onDryRun = (r: DryRunRecord): void => {
      this.records.push(r);
      if (this.records.length > this.keep) this.records.splice(0, this.records.length - this.keep);
    };
    const backend = opts.backend ?? 'nftables';
    this.name = `dry-run:${backend}`;
    this.inner =
      backend === 'nftables'
        ? new NftablesResponder({ ...opts.nftables, dryRun: true, logger, onDryRun })
        : new IptablesIpsetResponder({ ...opts.iptables, dryRun: true, logger, onDryRun });
  }

  handles(d: Decision): boolean {
    return this.inner.handles(d);
  }
  init(): Promise<void> {
    return this.inner.init();
  }
  apply(d: Decision): Promise<void> {
    return this.inner.apply(d);
  }
  revoke(d: Decision): Promise<void> {
    return this.inner.revoke(d);
  }
  /** Nothing is in the kernel on our account. */
  async reconcile(): Promise<ActiveEntry[]> {
    return [];
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
