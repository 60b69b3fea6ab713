// node's arguments for bin/sipwarden.js as the unit and npx start it: the node
// options of its shebang first (NODE_COMMAND_LINE_OPTIONS), then the command.
// One place, so no test starts the guard's `run` differently from the service.
import { fileURLToPath } from 'node:url';
import { NODE_COMMAND_LINE_OPTIONS } from '../../src/ops/runtime.ts';

export const GUARD_BIN = fileURLToPath(new URL('../../bin/sipwarden.js', import.meta.url));

/** `node ...guardArgv(args)` runs `sipwarden <args>` with the options of bin/sipwarden.js's shebang. */
export function guardArgv(...args: string[]): string[] {
  return [...NODE_COMMAND_LINE_OPTIONS, GUARD_BIN, ...args];
}
