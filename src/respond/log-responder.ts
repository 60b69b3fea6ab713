import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { Responder } from './responder.ts';

/**
 * The dry-run twin of every backend: says what would be done, does nothing.
 * Also the responder behind `mode: dry-run` and the fallback when a firewall
 * tool is missing, so detection and journaling go on.
 */
export class LogResponder implements Responder {
  readonly name = 'dry-run';
  constructor(private readonly logger: Logger) {}
  handles(): boolean {
    return true;
  }
  async init(): Promise<void> {}
  async apply(d: Decision): Promise<void> {
    this.logger.info({ dryRun: true, would: d.action, target: d.target, rule: d.rule, durationMs: d.durationMs }, `would ${d.action}`);
  }
  async revoke(d: Decision): Promise<void> {
    this.logger.info({ dryRun: true, would: `revoke ${d.action}`, target: d.target }, `would revoke ${d.action}`);
  }
  async shutdown(): Promise<void> {}
}
