#!/usr/bin/env -S node --no-memory-reducer
// The node options here are NODE_COMMAND_LINE_OPTIONS of src/ops/runtime.ts (a unit test keeps them the same).
// Runs the compiled CLI when present (installed package), else the sources through tsx (a checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(dist)) {
  await import(pathToFileURL(dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
