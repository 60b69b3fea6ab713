import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/config/config.ts';
import { parseDuration } from '../../../src/config/duration.ts';

const dir = mkdtempSync(join(tmpdir(), 'sipwarden-cfg-'));
const example = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
function write(obj: unknown, name = 'c.json'): string {
  const p = join(dir, name);
  writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return p;
}
function problems(obj: unknown): string[] {
  try {
    loadConfig(write(obj), {});
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  it('loads the example with its rules and durations resolved', () => {
    const c = loadConfig(DEFAULT_CONFIG_PATH, {});
    assert.equal(c.rules.find((r) => r.id === 'sip-auth-burst')?.windowMs, 60_000);
    assert.deepEqual(c.bans.durationsMs.slice(0, 2), [600_000, 3_600_000]);
    assert.equal(c.ami.port, 5038);
  });
  it('parses durations', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration(1500), 1500);
    assert.ok(Number.isNaN(parseDuration('ten minutes')));
  });
  it('names the key and the reason for each bad value', () => {
    const bad = structuredClone(example);
    bad.rules[0].threshold = 0;
    bad.rules[1].window = 'ten minutes';
    bad.ami.port = 70000;
    bad.whitelist.push('10.0.0.0/33');
    bad.firewall.backend = 'pf';
    const p = problems(bad);
    assert.ok(p.some((x) => x.startsWith('rules[0].threshold:') && x.includes('>= 1')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('rules[1].window:') && x.includes('duration')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('ami.port:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('firewall.backend:') && x.includes('"nftables"')), p.join('\n'));
  });
  it('rejects a misspelt key instead of ignoring it', () => {
    const p = problems({ ...example, whitelsit: [] });
    assert.deepEqual(p, ['whitelsit: unknown key']);
  });
  it('checks what the schema cannot: CIDRs, duplicate ids, distinct fields', () => {
    const bad = structuredClone(example);
    bad.whitelist = ['10.0.0.0/33'];
    bad.rules[1].id = bad.rules[0].id;
    delete bad.rules[3].distinct;
    const p = problems(bad);
    assert.ok(p.some((x) => x.startsWith('whitelist[0]:')), p.join('\n'));
    assert.ok(p.some((x) => x.includes('duplicate rule id')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('rules[3].distinct:')), p.join('\n'));
  });
  it('says so when the file is not JSON or missing', () => {
    assert.match(problems('{ "ami": ')[0]!, /not valid JSON/);
    assert.throws(() => loadConfig(join(dir, 'nope.json'), {}), /file not found/);
  });
  it('takes AMI settings from the environment over the file', () => {
    const c = loadConfig(DEFAULT_CONFIG_PATH, { SIPWARDEN_AMI_HOST: '198.18.0.1', SIPWARDEN_AMI_PORT: '5039', SIPWARDEN_AMI_USERNAME: 'guard', SIPWARDEN_AMI_SECRET: 's' });
    assert.deepEqual([c.ami.host, c.ami.port, c.ami.username, c.ami.secret], ['198.18.0.1', 5039, 'guard', 's']);
    assert.throws(() => loadConfig(DEFAULT_CONFIG_PATH, { SIPWARDEN_AMI_PORT: 'x' }), /SIPWARDEN_AMI_PORT/);
  });
  it('check-config exits 0 on a good file and non-zero naming the key on a bad one', () => {
    const bin = new URL('../../../bin/sipwarden.js', import.meta.url).pathname;
    assert.match(execFileSync(process.execPath, [bin, 'check-config', DEFAULT_CONFIG_PATH], { encoding: 'utf8' }), /OK \(8 rules/);
    const bad = structuredClone(example);
    bad.rules[0].threshold = -1;
    const r = spawnSync(process.execPath, [bin, 'check-config', write(bad, 'bad.json')], { encoding: 'utf8' });
    assert.equal(r.status, 78);
    assert.match(r.stderr, /rules\[0\]\.threshold/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });
});
