import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate as validateGenerated } from './validate-config.generated.ts';
import { parseDuration } from './duration.ts';
import { ConfigError, type Config } from './config.ts';
import type { DetectionRule } from '../detect/rule.ts';
import { parseCidr } from '../policy/cidr.ts';
import { resolveTollFraud } from '../calls/config.ts';

/** The example config doubles as the embedded default. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/sipwarden.example.json', import.meta.url));

/** One error of the schema check (the fields of ajv's ErrorObject read here). */
interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

/**
 * The config schema (schema.ts) compiled ahead of time (scripts/gen-config-validator.ts):
 * loading ajv and compiling at start-up held ~18 MB of RSS for the life of the guard.
 */
const validate = validateGenerated as unknown as { (data: unknown): boolean; errors?: SchemaError[] | null };

/** `/rules/2/threshold` -> `rules[2].threshold` */
function keyPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

function describe(e: SchemaError): string {
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `${keyPath(e.instancePath, key)}: unknown key`;
  }
  if (e.keyword === 'required') {
    return `${keyPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty)}: is required`;
  }
  if (e.keyword === 'enum') {
    return `${keyPath(e.instancePath)}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (e.keyword === 'anyOf') return `${keyPath(e.instancePath)}: must be a duration such as "10s", "5m", "1h" or a number of ms`;
  return `${keyPath(e.instancePath)}: ${e.message ?? 'is invalid'}`;
}

/**
 * A rule in the one shape every rule gets (the same keys in the same order,
 * undefined where unset): the detectors read their rule on every event, and
 * rules spread from their JSON had as many hidden classes as key sets, so
 * those reads were polymorphic and re-optimised as new rules came into play.
 */
function ruleOf(r: Record<string, any>, windowMs: number): DetectionRule {
  const m: Record<string, any> = r.match ?? {};
  return {
    id: r.id,
    description: r.description,
    enabled: r.enabled,
    kind: r.kind,
    match: { types: m.types, failures: m.failures, services: m.services, notServices: m.notServices },
    groupBy: r.groupBy,
    prefixV4: r.prefixV4,
    prefixV6: r.prefixV6,
    count: r.count ?? 'attempts',
    distinct: r.distinct,
    windowMs,
    threshold: r.threshold,
    action: r.action,
    allPorts: r.allPorts,
  };
}

/** Reads, validates and resolves a config file; throws ConfigError naming every bad key. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [code === 'ENOENT' ? 'file not found (copy config/sipwarden.example.json there)' : `cannot read: ${code ?? String(err)}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return resolveConfig(raw, file, env);
}

export function resolveConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = {}): Config {
  if (!validate(raw)) {
    const seen = new Set<string>();
    const problems = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describe).filter((p) => !seen.has(p) && seen.add(p));
    // anyOf reports each branch too; the anyOf line says it best.
    const anyOfPaths = new Set((validate.errors ?? []).filter((e) => e.keyword === 'anyOf').map((e) => keyPath(e.instancePath)));
    throw new ConfigError(file, problems.filter((p) => !anyOfPaths.has(p.slice(0, p.indexOf(':'))) || p.includes('duration')));
  }
  const c = raw as Record<string, any>;
  const problems: string[] = [];
  const ms = (path: string, v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    const d = parseDuration(v);
    if (!Number.isFinite(d)) problems.push(`${path}: not a duration`);
    return d;
  };
  const ami = c.ami ?? {};
  const envPort = env.SIPWARDEN_AMI_PORT;
  if (envPort !== undefined && !/^\d{1,5}$/.test(envPort)) problems.push(`SIPWARDEN_AMI_PORT: must be a port number, got ${JSON.stringify(envPort.slice(0, 20))}`);

  const cidrs = (path: string, list: readonly string[] | undefined): string[] => {
    const out: string[] = [];
    (list ?? []).forEach((s, i) => {
      const p = parseCidr(s);
      if (typeof p === 'string') problems.push(`${path}[${i}]: ${p}`);
      else out.push(p.text);
    });
    return out;
  };

  const rules: DetectionRule[] = [];
  const ids = new Set<string>();
  (c.rules ?? []).forEach((r: Record<string, any>, i: number) => {
    if (ids.has(r.id)) problems.push(`rules[${i}].id: duplicate rule id "${r.id}"`);
    ids.add(r.id);
    if (r.kind === 'distinct' && !r.distinct) problems.push(`rules[${i}].distinct: required when kind is "distinct" (account or ip)`);
    if (r.kind === 'threshold' && r.distinct) problems.push(`rules[${i}].distinct: only for kind "distinct"`);
    if (r.enabled === false) return;
    const windowMs = ms(`rules[${i}].window`, r.window, 0);
    if (windowMs <= 0) problems.push(`rules[${i}].window: must be longer than 0`);
    rules.push(ruleOf(r, windowMs));
  });

  const bans = c.bans ?? {};
  const durationsMs = ((bans.durations as unknown[]) ?? ['10m', '1h', '6h', '24h', '7d']).map((d, i) => ms(`bans.durations[${i}]`, d, 0));
  durationsMs.forEach((d, i) => {
    if (i > 0 && d < durationsMs[i - 1]!) problems.push(`bans.durations[${i}]: must not be shorter than the step before it`);
  });

  const cfg: Config = {
    ami: {
      host: env.SIPWARDEN_AMI_HOST || ami.host || '127.0.0.1',
      port: envPort ? Number(envPort) : (ami.port ?? 5038),
      username: env.SIPWARDEN_AMI_USERNAME || ami.username || 'sipwarden',
      secret: env.SIPWARDEN_AMI_SECRET ?? ami.secret ?? '',
      events: ami.events ?? 'security,call,dialplan',
      actionTimeoutMs: ms('ami.actionTimeout', ami.actionTimeout, 5000),
      pingIntervalMs: ms('ami.pingInterval', ami.pingInterval, 10_000),
      pingTimeoutMs: ms('ami.pingTimeout', ami.pingTimeout, 5000),
      reconnectInitialMs: ms('ami.reconnectInitial', ami.reconnectInitial, 500),
      reconnectMaxMs: ms('ami.reconnectMax', ami.reconnectMax, 30_000),
      authFailRetryMs: ms('ami.authFailRetry', ami.authFailRetry, 60_000),
    },
    mode: c.mode ?? 'enforce',
    stateDir: c.stateDir ?? '/var/lib/sipwarden',
    whitelist: cidrs('whitelist', c.whitelist ?? ['127.0.0.0/8', '::1/128']),
    blacklist: cidrs('blacklist', c.blacklist),
    trunks: { discover: c.trunks?.discover ?? true, addresses: cidrs('trunks.addresses', c.trunks?.addresses) },
    bans: {
      durationsMs,
      offenceWindowMs: ms('bans.offenceWindow', bans.offenceWindow, 7 * 86_400_000),
      accountBlockMs: ms('bans.accountBlock', bans.accountBlock, 600_000),
    },
    rules,
    maxKeysPerRule: c.maxKeysPerRule ?? 100_000,
    firewall: {
      backend: c.firewall?.backend ?? 'nftables',
      udpPorts: c.firewall?.udpPorts ?? '5060-5061',
      tcpPorts: c.firewall?.tcpPorts ?? '5060-5061',
      flushConntrack: c.firewall?.flushConntrack ?? true,
      ...(c.firewall?.netns ? { netns: c.firewall.netns } : {}),
    },
    scannerDrop: { enabled: c.scannerDrop?.enabled ?? true, userAgents: c.scannerDrop?.userAgents ?? [] },
    asterisk: {
      maintenanceBlock: c.asterisk?.maintenanceBlock ?? true,
      astdbFamily: c.asterisk?.astdbFamily ?? 'sipwarden',
      acl: { enabled: c.asterisk?.acl?.enabled ?? false, file: c.asterisk?.acl?.file ?? '/etc/asterisk/sipwarden-acl.conf', name: c.asterisk?.acl?.name ?? 'sipwarden-ban' },
      heartbeat: c.asterisk?.heartbeat ?? true,
      ari: {
        enabled: c.asterisk?.ari?.enabled ?? false,
        url: c.asterisk?.ari?.url ?? 'http://127.0.0.1:8088/ari',
        username: env.SIPWARDEN_ARI_USERNAME || c.asterisk?.ari?.username || 'sipwarden',
        password: env.SIPWARDEN_ARI_PASSWORD ?? c.asterisk?.ari?.password ?? '',
      },
    },
    tollFraud: resolveTollFraud(c.tollFraud, problems),
    log: { level: c.log?.level ?? 'info', fail2banFormat: c.log?.fail2banFormat ?? false },
    metrics: { enabled: c.metrics?.enabled ?? false, host: c.metrics?.host ?? '127.0.0.1', port: c.metrics?.port ?? 9477 },
  };
  for (const [name, r] of [['udpPorts', cfg.firewall.udpPorts], ['tcpPorts', cfg.firewall.tcpPorts]] as const) {
    const [a, b = a] = r.split('-').map(Number);
    if (a! < 1 || b! > 65535 || a! > b!) problems.push(`firewall.${name}: "${r}" is not a port range within 1-65535`);
  }
  if (problems.length) throw new ConfigError(file, problems);
  return cfg;
}
