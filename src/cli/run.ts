import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { Service } from '../service/service.ts';
import { createLogger } from '../service/logger.ts';
import { ViewModel } from '../console/view-model.ts';
import { startLiveView } from '../console/render.ts';
import { parse } from './args.ts';
import { scannerPanel } from '../console/scanner-panel.ts';
import { preflight } from '../ops/preflight.ts';
import { startMetrics, type Metrics } from '../ops/metrics.ts';
import { packageVersion } from '../ops/version.ts';

export async function runCommand(argv: string[]): Promise<number> {
  const args = parse(argv, { config: { type: 'string', short: 'c' }, 'dry-run': { type: 'boolean' }, 'no-console': { type: 'boolean' } }, false);
  const configPath = args.str('config') ?? DEFAULT_CONFIG_PATH;
  const cfg = loadConfig(configPath); // fail fast, with the key named, before anything starts
  // State dir and capabilities: a one-line error with the fix, before anything starts.
  preflight(cfg, { dryRun: args.bool('dry-run'), configPath });
  const tty = process.stdout.isTTY === true && !args.bool('no-console');
  const logger = createLogger(cfg.log.level, tty, cfg.stateDir);
  const service = new Service({ configPath, logger, dryRun: args.bool('dry-run') });
  // Metrics bind first: a port in use stops the start before the state lock is taken.
  const metrics: Metrics | undefined = cfg.metrics.enabled ? await startMetrics({ pipeline: service.pipeline, ami: service.ami }, cfg.metrics, { version: packageVersion() }) : undefined;
  try {
    await service.start();
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  if (metrics) logger.info({ component: 'metrics', host: cfg.metrics.host, port: cfg.metrics.port }, 'metrics endpoint listening');
  let stopView = () => {};
  if (tty) {
    const vm = new ViewModel(service.pipeline);
    vm.mode = service.dryRun ? 'dry-run' : 'enforce';
    // Through the service: a reload attaches a new guard.
    vm.panels.push({ get title() { return service.tollFraud.panel.title; }, lines: () => service.tollFraud.panel.lines() });
    const scanners = service.enforcement?.scanners;
    if (scanners) vm.panels.push(scannerPanel(scanners));
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
  await metrics?.close();
  logger.info('sipwarden stopped');
  return 0;
}
