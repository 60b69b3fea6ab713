import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { createReplay } from '../replay/replay.ts';
import { ViewModel } from '../console/view-model.ts';
import { startLiveView } from '../console/render.ts';
import { decisionLine } from './output.ts';
import { parse, UsageError } from './args.ts';

/** Real captures from Asterisk 22 under attack, in the order an intrusion unfolds. */
export const DEMO_CAPTURES = ['scanner-svmap-options.ami', 'extension-scan-svwar.ami', 'bruteforce-svcrack.ami', 'failed-acl.ami', 'ami-login-bruteforce.ami', 'hostile-accountid.ami'].map((f) =>
  fileURLToPath(new URL(`../../test/fixtures/ami/${f}`, import.meta.url)),
);

export async function demoCommand(argv: string[]): Promise<number> {
  const args = parse(argv, { speed: { type: 'string' }, hold: { type: 'string' }, config: { type: 'string', short: 'c' } }, false);
  const speed = Number(args.str('speed') ?? '4');
  if (!(speed > 0)) throw new UsageError('--speed must be a number above 0');
  const holdMs = Number(args.str('hold') ?? '3') * 1000;
  const cfg = loadConfig(args.str('config') ?? DEFAULT_CONFIG_PATH);
  const tty = process.stdout.isTTY === true;
  let last = 0;
  const replay = createReplay(cfg, {
    // Paced in event time, compressed by --speed, gaps capped so the demo stays short.
    beforeFrame: async (t) => {
      if (last && t > last) await sleep(Math.min((t - last) / speed, 400));
      last = t;
    },
    ...(tty ? {} : { onDecision: (d) => process.stdout.write(decisionLine(d) + '\n') }),
  });
  const vm = new ViewModel(replay.pipeline);
  vm.mode = 'dry-run (demo)';
  vm.connection = 'replaying captures';
  const stop = tty ? startLiveView(vm, process.stdout) : () => {};
  try {
    for (const file of DEMO_CAPTURES) {
      vm.connectionDetail = file.slice(file.lastIndexOf('/') + 1);
      await replay.feedFile(file);
    }
    vm.connection = 'replay finished';
    if (tty) await sleep(holdMs);
  } catch (err) {
    // Leave nothing running (redraw timer, pipeline) behind an error.
    stop();
    replay.close();
    vm.close();
    throw err;
  }
  stop();
  const s = replay.summary();
  replay.close();
  vm.close();
  process.stdout.write(`\ndemo: ${s.securityEvents} security events, ${s.attempts} attempts, ${s.alerts} alerts -> ${s.decisions} decisions ${JSON.stringify(s.byAction)}\n`);
  process.stdout.write('Next: sipwarden replay FILE.ami --json, or sipwarden run --config /etc/sipwarden/sipwarden.json\n');
  return 0;
}
