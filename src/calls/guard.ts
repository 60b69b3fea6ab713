import { Subject, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { AmiFrame, Decision } from '../domain/types.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { escapeText } from '../console/escape.ts';
import type { TollFraudConfig } from './config.ts';
import { CallTracker, type CallFact } from './tracker.ts';
import { tollDetectors, type TollAlert } from './detector.ts';
import { ResponsePlanner } from './respond.ts';
import { TollFraudPanel } from './panel.ts';

export interface TollFraudGuardOptions {
  /** Decisions are marked dry-run (replay, --dry-run). */
  readonly dryRun?: boolean;
  readonly logger?: Logger;
  /** Wall clock for the console panel and rebuilds. */
  readonly clock?: () => number;
}

export interface TollFraudGuard {
  readonly panel: TollFraudPanel;
  readonly tracker: CallTracker;
  readonly planner: ResponsePlanner;
  readonly alerts$: Subject<TollAlert>;
  /** After each AMI 'connected': pass the CoreShowChannels response's events. */
  rebuild(frames: readonly AmiFrame[]): void;
  stop(): void;
}

/**
 * Wires the toll-fraud guard onto a pipeline: call events -> tracker ->
 * toll detectors -> response planner -> pipeline.emit(). Blocks and bans are
 * adopted by the policy so they expire (and are revoked) like the core's.
 */
export function attachTollFraudGuard(pipeline: Pipeline, cfg: TollFraudConfig, opts: TollFraudGuardOptions = {}): TollFraudGuard {
  const clock = opts.clock ?? Date.now;
  const facts$ = new Subject<CallFact>();
  const alerts$ = new Subject<TollAlert>();
  const tracker = new CallTracker(cfg, (f) => facts$.next(f));
  const planner = new ResponsePlanner(cfg, { tracker, protection: (ip) => pipeline.policy.protection(ip), dryRun: opts.dryRun ?? pipeline.config.mode === 'dry-run' });
  const panel = new TollFraudPanel(tracker, planner, clock);
  const emit = (ds: Decision[]): void => {
    for (const d of ds) {
      if (d.action === 'ban-ip' || d.action === 'block-account' || d.action === 'block-intl') pipeline.policy.adopt(d);
      panel.noteDecision(d);
      pipeline.emit(d);
    }
  };
  const failed = (what: string, err: unknown): void => {
    // One bad event must not stop the guard.
    opts.logger?.error({ component: 'toll-fraud', error: escapeText(String(err), 200) }, `toll-fraud guard: ${what} failed (skipped)`);
  };
  const safely = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      failed(what, err);
    }
  };
  const subs: Subscription[] = [];
  if (cfg.enabled) {
    // Order matters: standing blocks are enforced before the limits count the new call.
    subs.push(
      facts$.subscribe((f) =>
        safely('fact', () => {
          if (f.type === 'start') panel.noteStart(f.call.account, f.call.dest.class, f.time);
          if (f.type === 'start' && f.call.dest.class === 'invalid')
            opts.logger?.warn({ component: 'toll-fraud', account: escapeText(f.call.account, 64), channel: escapeText(f.call.channel, 80), why: f.call.dest.why }, 'call to an invalid number');
          emit(planner.onFact(f));
        }),
      ),
      tollDetectors(cfg.rules)(facts$).subscribe((a) => {
        alerts$.next(a);
        safely('alert', () => emit(planner.onAlert(a)));
      }),
      // Written out, not through safely(): a closure per security event is what it avoids.
      pipeline.security$.subscribe((e) => {
        try {
          tracker.onSecurity(e);
        } catch (err) {
          failed('security event', err);
        }
      }),
      pipeline.calls$.subscribe((e) => safely('call event', () => tracker.onCall(e))),
    );
  }
  return {
    panel,
    tracker,
    planner,
    alerts$,
    rebuild: (frames) => safely('rebuild', () => tracker.rebuildFromCoreShowChannels(frames, clock())),
    stop() {
      for (const s of subs) s.unsubscribe();
      facts$.complete();
      alerts$.complete();
    },
  };
}
