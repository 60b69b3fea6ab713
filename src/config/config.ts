import type { DetectionRule } from '../detect/rule.ts';
import type { TollFraudConfig } from '../calls/config.ts';

/** The runtime config: the JSON file after validation, defaults and env overrides. */
export interface Config {
  readonly ami: {
    readonly host: string;
    readonly port: number;
    readonly username: string;
    readonly secret: string;
    readonly events: string;
    readonly actionTimeoutMs: number;
    readonly pingIntervalMs: number;
    readonly pingTimeoutMs: number;
    readonly reconnectInitialMs: number;
    readonly reconnectMaxMs: number;
    readonly authFailRetryMs: number;
  };
  readonly mode: 'enforce' | 'dry-run';
  readonly stateDir: string;
  readonly whitelist: readonly string[];
  readonly blacklist: readonly string[];
  readonly trunks: { readonly discover: boolean; readonly addresses: readonly string[] };
  readonly bans: { readonly durationsMs: readonly number[]; readonly offenceWindowMs: number; readonly accountBlockMs: number };
  readonly rules: readonly DetectionRule[];
  /** Bound on the keys (sources, accounts, ranges) one grouping, so one rule, tracks; keys seen again since the eviction hand passed are spared once. */
  readonly maxKeysPerRule: number;
  readonly firewall: {
    readonly backend: 'nftables' | 'iptables' | 'none';
    readonly udpPorts: string;
    readonly tcpPorts: string;
    readonly flushConntrack: boolean;
    readonly netns?: string;
  };
  readonly scannerDrop: { readonly enabled: boolean; readonly userAgents: readonly string[] };
  readonly asterisk: {
    readonly maintenanceBlock: boolean;
    readonly astdbFamily: string;
    readonly acl: { readonly enabled: boolean; readonly file: string; readonly name: string };
    /** Write sipwarden/heartbeat/ts so the dialplan include knows sipwarden runs. */
    readonly heartbeat: boolean;
    /** Hang up over ARI (by Uniqueid) instead of AMI. */
    readonly ari: { readonly enabled: boolean; readonly url: string; readonly username: string; readonly password: string };
  };
  readonly tollFraud: TollFraudConfig;
  readonly log: { readonly level: string; readonly fail2banFormat: boolean };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}
