import type { CallEvent } from '../../../src/domain/types.ts';
import type { TrackedCall } from '../../../src/calls/tracker.ts';
import { classify } from '../../../src/calls/classify.ts';
import { resolveTollFraud } from '../../../src/calls/config.ts';

export const defaults = resolveTollFraud(undefined, []);

let n = 0;
/** A Newchannel (or other) call event of an account dialing a number. */
export function callEv(over: Partial<CallEvent> & { account?: string; n?: number } = {}): CallEvent {
  const { account = '1002', n: num = ++n, ...rest } = over;
  const uid = `1795346327.${num}`;
  return {
    kind: 'call',
    type: 'Newchannel',
    time: 0,
    channel: `PJSIP/${account}-${num.toString(16).padStart(8, '0')}`,
    uniqueId: uid,
    linkedId: uid,
    callerIdNum: account,
    context: 'from-internal',
    exten: '011882161234567',
    extra: {},
    ...rest,
  };
}

export function tracked(over: Partial<TrackedCall> & { exten?: string } = {}): TrackedCall {
  const { exten = '00442079460000', ...rest } = over;
  const num = ++n;
  return {
    uniqueId: `u${num}`,
    linkedId: `u${num}`,
    channel: `PJSIP/1002-${num.toString(16).padStart(8, '0')}`,
    account: '1002',
    dest: classify(exten, defaults.dialing),
    startedAt: 0,
    source: 'event',
    ...rest,
  };
}
