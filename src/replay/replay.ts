import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Alert, Decision, DomainEvent } from '../domain/types.ts';
import type { Config } from '../config/config.ts';
import { AmiFramer, type FramerError } from '../sources/ami/framer.ts';
import { Pipeline, type Suppressed } from '../pipeline/pipeline.ts';
import type { NormalizeIssue } from '../normalize/normalizer.ts';
import { attachTollFraudGuard } from '../calls/guard.ts';

export interface ReplayHooks {
  onEvent?(ev: DomainEvent): void;
  onAlert?(alert: Alert): void;
  onDecision?(d: Decision): void;
  onSuppressed?(s: Suppressed): void;
  onIssue?(what: string, detail: string): void;
  /** Called before each frame is fed (paced replays wait here). */
  beforeFrame?(eventTime: number): Promise<void> | void;
}

export interface ReplaySummary {
  readonly type: 'summary';
  readonly files: string[];
  readonly bytes: number;
  readonly frames: number;
  readonly events: number;
  readonly securityEvents: number;
  readonly callEvents: number;
  readonly attempts: number;
  readonly retransmits: number;
  readonly ignored: number;
  readonly malformed: number;
  readonly framerErrors: number;
  readonly alerts: number;
  readonly decisions: number;
  readonly byAction: Record<string, number>;
  readonly suppressed: number;
  /** Security events from a source with a ban in force, passed over by the ban rules. */
  readonly fromBanned: number;
}

/**
 * Feeds recorded AMI byte streams through the real pipeline with dry-run
 * responders. Windows run on event time (EventTV), so the result is the same
 * on every run and equals what the live service would have decided.
 */
export function createReplay(config: Config, hooks: ReplayHooks = {}) {
  let framerErrors = 0;
  let alerts = 0;
  let suppressed = 0;
  const byAction: Record<string, number> = {};
  let decisions = 0;
  const pipeline = new Pipeline(config, {
    dryRun: true,
    onIssue: (i: NormalizeIssue) => hooks.onIssue?.(i.reason, `${i.event}: ${i.detail}`),
  });
  pipeline.policy.setTrusted(config.trunks.addresses.map((cidr) => ({ cidr, why: 'trunk' })));
  // Toll-fraud guard: call events -> limits -> hangup / block-intl decisions, like the live service.
  const tollFraud = attachTollFraudGuard(pipeline, config.tollFraud, { dryRun: true });
  pipeline.events$.subscribe((e) => hooks.onEvent?.(e));
  pipeline.alerts$.subscribe((a) => {
    alerts++;
    hooks.onAlert?.(a);
  });
  pipeline.decisions$.subscribe((d) => {
    decisions++;
    byAction[d.action] = (byAction[d.action] ?? 0) + 1;
    hooks.onDecision?.(d);
  });
  pipeline.suppressed$.subscribe((s) => {
    suppressed++;
    hooks.onSuppressed?.(s);
  });
  const files: string[] = [];
  let bytes = 0;

  return {
    pipeline,
    /** Feeds one capture; a paced replay awaits between frames. */
    async feedFile(path: string): Promise<void> {
      const buf = readFileSync(path);
      await this.feedBytes(buf, basename(path));
    },
    async feedBytes(buf: Buffer, name: string): Promise<void> {
      files.push(name);
      bytes += buf.length;
      const framer = new AmiFramer({
        onError: (e: FramerError) => {
          framerErrors++;
          hooks.onIssue?.(`framer-${e.reason}`, `${name}: ${e.bytes} bytes${e.sample !== undefined ? `: ${e.sample}` : ''}`);
        },
      });
      for (const frame of framer.push(buf)) {
        if (hooks.beforeFrame) await hooks.beforeFrame(pipeline.normalizer.now);
        pipeline.push(frame);
      }
    },
    summary(): ReplaySummary {
      const c = pipeline.normalizer.counters;
      return {
        type: 'summary',
        files,
        bytes,
        frames: c.frames,
        events: c.security + c.call,
        securityEvents: c.security,
        callEvents: c.call,
        attempts: c.attempts,
        retransmits: c.retransmits,
        ignored: c.ignored,
        malformed: c.malformed,
        framerErrors,
        alerts,
        decisions,
        byAction,
        suppressed,
        fromBanned: pipeline.fromBanned,
      };
    },
    close(): void {
      tollFraud.stop();
      pipeline.complete();
    },
  };
}
