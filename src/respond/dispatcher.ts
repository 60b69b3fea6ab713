import type { Logger } from 'pino';
import type { Decision } from '../domain/types.ts';
import type { Responder } from './responder.ts';
import { escapeText } from '../console/escape.ts';

export interface DispatchResult {
  readonly decision: Decision;
  readonly applied: string[];
  readonly failed: Array<{ responder: string; error: string }>;
  /** ms from dispatch to every responder done. */
  readonly ms: number;
}

/**
 * Hands each decision to every responder that handles it. One responder's
 * failure is logged and counted; it never stops the others or the pipeline.
 */
export class Dispatcher {
  failures = 0;
  constructor(
    private responders: Responder[],
    private readonly logger: Logger,
  ) {}

  setResponders(rs: Responder[]): void {
    this.responders = rs;
  }

  get names(): string[] {
    return this.responders.map((r) => r.name);
  }

  async apply(d: Decision): Promise<DispatchResult> {
    return this.run(d, 'apply');
  }

  async revoke(d: Decision): Promise<DispatchResult> {
    return this.run(d, 'revoke');
  }

  private async run(d: Decision, op: 'apply' | 'revoke'): Promise<DispatchResult> {
    const t0 = performance.now();
    const applied: string[] = [];
    const failed: DispatchResult['failed'] = [];
    await Promise.all(
      this.responders
        .filter((r) => r.handles(d))
        .map(async (r) => {
          try {
            await r[op](d);
            applied.push(r.name);
          } catch (err) {
            this.failures++;
            const error = escapeText(err instanceof Error ? err.message : String(err), 300);
            failed.push({ responder: r.name, error });
            this.logger.error({ responder: r.name, op, decision: d.id, action: d.action, error }, 'responder failed');
          }
        }),
    );
    return { decision: d, applied, failed, ms: performance.now() - t0 };
  }

  async shutdown(): Promise<void> {
    for (const r of this.responders) {
      try {
        await r.shutdown();
      } catch (err) {
        this.logger.warn({ responder: r.name, error: String(err) }, 'responder shutdown failed');
      }
    }
  }
}
