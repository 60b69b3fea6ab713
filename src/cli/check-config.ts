import { loadConfig } from '../config/load.ts';
import { parse, UsageError } from './args.ts';

export async function checkConfigCommand(argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {});
  const file = positionals[0];
  if (!file) throw new UsageError('usage: sipwarden check-config FILE');
  const cfg = loadConfig(file);
  process.stdout.write(`${file}: OK (${cfg.rules.length} rules, mode ${cfg.mode}, firewall ${cfg.firewall.backend}, AMI ${cfg.ami.username}@${cfg.ami.host}:${cfg.ami.port})\n`);
  return 0;
}
