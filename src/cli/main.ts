import { ConfigError } from '../config/config.ts';
import { escapeText } from '../console/escape.ts';
import { UsageError } from './args.ts';
import { applyCompilerOptions } from '../ops/runtime.ts';

// Before any command's code runs hot (src/ops/runtime.ts).
applyCompilerOptions();

const USAGE = `usage: sipwarden <command> [options]

  run [--config FILE] [--dry-run]        guard Asterisk: AMI events -> detections -> bans
  demo [--speed N]                       replay a bundled real attack in the live console
  replay FILE.ami... [--config FILE] [--json]
                                         feed recorded AMI streams through the pipeline (dry-run)
  check-config FILE                      validate a config file
  bans | ban IP [--for D] [--reason T] | unban IP | why IP
                                         manage bans of the running service
  doctor [--config FILE]                 check that protection works on this host
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  replay: async () => (await import('./replay.ts')).replayCommand,
  'check-config': async () => (await import('./check-config.ts')).checkConfigCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  run: async () => (await import('./run.ts')).runCommand,
  bans: async () => (argv) => import('./control.ts').then((m) => m.controlCommand('bans', argv)),
  ban: async () => (argv) => import('./control.ts').then((m) => m.controlCommand('ban', argv)),
  unban: async () => (argv) => import('./control.ts').then((m) => m.controlCommand('unban', argv)),
  why: async () => (argv) => import('./control.ts').then((m) => m.controlCommand('why', argv)),
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`sipwarden: unknown command "${escapeText(name, 40)}"\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      const [only] = err.problems;
      process.stderr.write(
        err.problems.length === 1 ? `sipwarden: config error in ${err.file}: ${only}\n` : `sipwarden: config error in ${err.file}:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      return 78; // EX_CONFIG
    }
    if (err instanceof UsageError) {
      process.stderr.write(`sipwarden: ${err.message}\n`);
      return 2;
    }
    // One line that names the problem; never a stack trace.
    process.stderr.write(`sipwarden: ${escapeText(err instanceof Error ? err.message : String(err), 500)}\n`);
    return 1;
  }
}

// `sipwarden replay ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A command that failed part-way may leave timers of half-started parts behind
    // (a pipeline's idle sweep): exit rather than hang. stderr/stdout are synchronous here.
    if (code !== 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`sipwarden: ${String(err)}\n`);
    process.exit(1);
  },
);
