import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { configSchema } from '../../../src/config/schema.ts';
import { DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { validate as generated } from '../../../src/config/validate-config.generated.ts';
import { GENERATED_PATH, validatorSource } from '../../../scripts/gen-config-validator.ts';

type Check = ((data: unknown) => boolean) & { errors?: unknown };

const example = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
const rules = example['rules'] as Array<Record<string, unknown>>;
/** Configs the check must refuse, each for a different keyword, plus three it must take. */
const CASES: Array<[string, unknown]> = [
  ['the example', example],
  ['an empty object (every key has a default)', {}],
  ['not an object', 'config'],
  ['an unknown key', { ...example, colour: 'blue' }],
  ['a bad enum', { ...example, mode: 'sometimes' }],
  ['a bad duration', { ...example, bans: { durations: ['ten minutes'] } }],
  ['a rule missing keys', { ...example, rules: [{ id: 'x' }] }],
  ['a bad pattern', { ...example, rules: [{ ...rules[0], id: 'Bad Id' }] }],
  ['out of range', { ...example, ami: { port: 70000 } }],
  ['a string too long (in code points)', { ...example, whitelist: ['\u{1F600}'.repeat(64), 'x'.repeat(129)] }],
  ['a string just short enough (surrogate pairs count once)', { ...example, whitelist: ['\u{1F600}'.repeat(128)] }],
  ['an empty list', { ...example, bans: { durations: [] } }],
  ['a wrong type', { ...example, maxKeysPerRule: '100000' }],
];

describe('config: the precompiled schema check', () => {
  it('is what scripts/gen-config-validator.ts writes from the current schema (run `npm run gen:validator`)', () => {
    assert.equal(readFileSync(GENERATED_PATH, 'utf8'), validatorSource());
  });

  it('needs no module at run time (ajv is a dev dependency)', () => {
    const text = readFileSync(GENERATED_PATH, 'utf8');
    assert.doesNotMatch(text, /\brequire\(|^\s*import\s/m);
  });

  it('answers, with the same errors, as ajv compiling the schema at run time', () => {
    const compiled = new Ajv({ allErrors: true, strict: false }).compile(configSchema) as unknown as Check;
    const check = generated as unknown as Check;
    let refused = 0;
    for (const [what, data] of CASES) {
      const want = compiled(data);
      assert.equal(check(data), want, what);
      assert.deepEqual(check.errors ?? null, compiled.errors ?? null, what);
      if (!want) refused++;
    }
    assert.equal(refused, CASES.length - 3);
  });
});
