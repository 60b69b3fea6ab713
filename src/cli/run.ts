import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { Service } from '../service/service.ts';
import { createLogger } from '../service/logger.ts';
import { ViewModel } from '../console/view-model.ts';
import { startLiveView } from '../console/render.ts';
import { parse } from './args.ts';

export async function runCommand(argv: string[]): Promise<number> {
  const args = parse(argv, { config: { type: 'string', short: 'c' }, 'dry-run': { type: 'boolean' }, 'no-console': { type: 'boolean' } }, false);
  const configPath = args.str('config') ?? DEFAULT_CONFIG_PATH;
  const cfg = loadConfig(configPath); // fail fast, with the key named, before anything starts
  const tty = process.stdout.isTTY === true && !args.bool('no-console');
  const logger = createLogger(cfg.log.level, tty, cfg.stateDir);
  const service = new Service({ configPath, logger, dryRun: args.bool('dry-run') });
  await service.start();
  let stopView = () => {};
  if (tty) {
    const vm = new ViewModel(service.pipeline);
    vm.mode = service.dryRun ? 'dry-run' : 'enforce';
    service.ami.state$.subscribe((s) => {
      vm.connection = s.status;
      vm.connectionDetail = [s.reason, s.nextRetryMs !== undefined ? `retry in ${Math.round(s.nextRetryMs / 100) / 10}s` : ''].filter(Boolean).join(', ');
    });
    stopView = startLiveView(vm, process.stdout);
  }
  process.on('SIGHUP', () => service.reload());
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  stopView();
  await service.stop();
  logger.info('sipwarden stopped');
  return 0;
}
