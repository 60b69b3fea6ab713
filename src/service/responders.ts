import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Responder } from '../respond/responder.ts';
import { NftablesResponder } from '../respond/nftables.ts';
import { IptablesIpsetResponder } from '../respond/iptables-ipset.ts';
import { ScannerDrop } from '../respond/scanner-drop.ts';
import { AsteriskResponder, type AmiActions } from '../respond/asterisk-ami.ts';
import { AclResponder } from '../respond/asterisk-acl.ts';
import { AriHangupResponder } from '../respond/ari-hangup.ts';
import type { SipPorts, PortRange } from '../respond/ban-target.ts';

export interface EnforcementContext {
  readonly ami: AmiActions;
  readonly logger: Logger;
}

export interface Enforcement {
  readonly responders: Responder[];
  /** The kernel backend, for reconciliation and counters (null: none or unusable). */
  readonly firewall:
    | (Responder & {
        reconcile(): Promise<unknown[]>;
        counters?(): Promise<Record<string, { packets: number; bytes: number }>>;
        setBlacklist(cidrs: readonly string[]): Promise<{ applied: string[]; rejected: Array<{ cidr: string; reason: string }> }>;
      })
    | null;
  readonly scanners: ScannerDrop | null;
  readonly asterisk: AsteriskResponder;
  /** Loud problems met at start: protection is reduced, detection goes on. */
  readonly problems: string[];
}

function range(text: string): PortRange {
  const [a, b = a] = text.split('-').map(Number);
  return [a!, b!];
}

export function sipPortsOf(cfg: Config): SipPorts {
  return { udp: [range(cfg.firewall.udpPorts)], tcp: [range(cfg.firewall.tcpPorts)] };
}

/**
 * The responders the config asks for, each initialised. A firewall that
 * cannot start (nft missing, no CAP_NET_ADMIN) is reported loudly and left
 * out: sipwarden keeps detecting, journaling and answering on the Asterisk
 * side rather than crashing.
 */
export async function buildEnforcement(cfg: Config, ctx: EnforcementContext): Promise<Enforcement> {
  const problems: string[] = [];
  const responders: Responder[] = [];
  const log = ctx.logger;
  const ports = sipPortsOf(cfg);
  const netns = cfg.firewall.netns;
  let firewall: Enforcement['firewall'] = null;
  if (cfg.firewall.backend !== 'none') {
    const fw =
      cfg.firewall.backend === 'nftables'
        ? new NftablesResponder({ logger: log.child({ component: 'nftables' }), sipPorts: ports, conntrack: cfg.firewall.flushConntrack, ...(netns ? { netns } : {}) })
        : new IptablesIpsetResponder({ logger: log.child({ component: 'iptables' }), sipPorts: ports, conntrack: cfg.firewall.flushConntrack, ...(netns ? { netns } : {}) });
    try {
      await fw.init();
      responders.push(fw);
      firewall = fw;
    } catch (err) {
      problems.push(`firewall backend ${cfg.firewall.backend} unusable: ${(err as Error).message}. NO KERNEL BANS: detection and journaling go on, bans are logged only.`);
    }
  }
  let scanners: ScannerDrop | null = null;
  if (cfg.scannerDrop.enabled && cfg.firewall.backend !== 'none') {
    const sd = new ScannerDrop({ logger: log.child({ component: 'scanner-drop' }), userAgents: cfg.scannerDrop.userAgents, sipPorts: ports, ...(netns ? { netns } : {}) });
    try {
      await sd.init();
      scanners = sd;
    } catch (err) {
      problems.push(`scanner drop unusable: ${(err as Error).message} (needs iptables with the string match)`);
    }
  }
  const ari = cfg.asterisk.ari;
  const asterisk = new AsteriskResponder({
    ami: ctx.ami,
    logger: log.child({ component: 'asterisk' }),
    family: cfg.asterisk.astdbFamily,
    maintenance: cfg.asterisk.maintenanceBlock,
    ariHangups: ari.enabled,
  });
  responders.push(asterisk);
  if (ari.enabled) responders.push(new AriHangupResponder({ url: ari.url, username: ari.username, password: ari.password, logger: log.child({ component: 'ari' }) }));
  if (cfg.asterisk.acl.enabled) {
    const acl = new AclResponder({ ami: ctx.ami, logger: log.child({ component: 'asterisk-acl' }), file: cfg.asterisk.acl.file, name: cfg.asterisk.acl.name });
    try {
      await acl.init();
    } catch (err) {
      problems.push(`Asterisk ACL ${cfg.asterisk.acl.file}: ${(err as Error).message}`);
    }
    responders.push(acl);
  }
  return { responders, firewall, scanners, asterisk, problems };
}
