import { SECURITY_EVENT_TYPES } from '../domain/types.ts';

// JSON Schema of the config file. additionalProperties is false everywhere so
// a misspelt key is an error that names it, not a setting silently ignored.
const duration = {
  anyOf: [
    { type: 'string', pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$' },
    { type: 'number', minimum: 0 },
  ],
  description: 'a duration: "250ms", "10s", "5m", "1h", "1d", "1w", or a number of ms',
} as const;
const portRange = { type: 'string', pattern: '^\\d{1,5}(-\\d{1,5})?$' } as const;
const strList = { type: 'array', items: { type: 'string', maxLength: 128 } } as const;

const rule = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'kind', 'match', 'groupBy', 'window', 'threshold', 'action'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    description: { type: 'string' },
    enabled: { type: 'boolean' },
    kind: { enum: ['threshold', 'distinct'] },
    match: {
      type: 'object',
      additionalProperties: false,
      properties: {
        types: { type: 'array', items: { enum: [...SECURITY_EVENT_TYPES] }, minItems: 1 },
        failures: { type: 'boolean' },
        services: strList,
        notServices: strList,
      },
    },
    groupBy: { enum: ['ip', 'account', 'subnet', 'ip+account'] },
    prefixV4: { type: 'integer', minimum: 8, maximum: 32 },
    prefixV6: { type: 'integer', minimum: 16, maximum: 128 },
    count: { enum: ['attempts', 'events'] },
    distinct: { enum: ['account', 'ip'] },
    window: duration,
    threshold: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    action: { enum: ['ban-ip', 'block-account', 'hangup', 'block-intl', 'watch'] },
    allPorts: { type: 'boolean' },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    ami: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        username: { type: 'string', minLength: 1 },
        secret: { type: 'string' },
        events: { type: 'string', pattern: '^[a-z]+(,[a-z]+)*$' },
        actionTimeout: duration,
        pingInterval: duration,
        pingTimeout: duration,
        reconnectInitial: duration,
        reconnectMax: duration,
        authFailRetry: duration,
      },
    },
    mode: { enum: ['enforce', 'dry-run'] },
    stateDir: { type: 'string', minLength: 1 },
    whitelist: strList,
    blacklist: strList,
    trunks: {
      type: 'object',
      additionalProperties: false,
      properties: { discover: { type: 'boolean' }, addresses: strList },
    },
    bans: {
      type: 'object',
      additionalProperties: false,
      properties: {
        durations: { type: 'array', items: duration, minItems: 1 },
        offenceWindow: duration,
        accountBlock: duration,
      },
    },
    rules: { type: 'array', items: rule },
    maxKeysPerRule: { type: 'integer', minimum: 1000, maximum: 10_000_000 },
    firewall: {
      type: 'object',
      additionalProperties: false,
      properties: {
        backend: { enum: ['nftables', 'iptables', 'none'] },
        udpPorts: portRange,
        tcpPorts: portRange,
        flushConntrack: { type: 'boolean' },
        netns: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      },
    },
    scannerDrop: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        userAgents: { type: 'array', items: { type: 'string', pattern: '^[\\x21-\\x7e]([\\x20-\\x7e]{0,62}[\\x21-\\x7e])?$' } },
      },
    },
    asterisk: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maintenanceBlock: { type: 'boolean' },
        astdbFamily: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
        acl: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            file: { type: 'string', pattern: '^/' },
            name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
          },
        },
        heartbeat: { type: 'boolean' },
        ari: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            url: { type: 'string', pattern: '^https?://' },
            username: { type: 'string' },
            password: { type: 'string' },
          },
        },
      },
    },
    tollFraud: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        dialing: {
          type: 'object',
          additionalProperties: false,
          properties: {
            country: { type: 'string', pattern: '^[A-Za-z]{2}$' },
            internationalPrefixes: { type: 'array', items: { type: 'string', pattern: '^(\\+|[0-9]{1,4})$' }, minItems: 1 },
            nationalPrefix: { type: 'string', pattern: '^[0-9]{0,2}$' },
            stripPrefixes: { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,4}$' } },
            emergency: { type: 'array', items: { type: 'string', pattern: '^[0-9]{2,6}$' } },
            extensionMaxLength: { type: 'integer', minimum: 1, maximum: 8 },
            highRiskPrefixes: { type: 'array', items: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } },
            premiumTypes: { type: 'array', items: { enum: ['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL', 'MOBILE', 'FIXED_LINE', 'FIXED_LINE_OR_MOBILE'] } },
            countries: {
              type: 'object',
              additionalProperties: false,
              properties: {
                allow: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z]{2}$' } },
                deny: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z]{2}$' } },
              },
            },
            maxLength: { type: 'integer', minimum: 4, maximum: 64 },
          },
        },
        tracking: {
          type: 'object',
          additionalProperties: false,
          properties: { authCorrelation: duration, ignoreEndpoints: strList },
        },
        compromise: {
          type: 'object',
          additionalProperties: false,
          properties: {
            failuresBefore: { type: 'integer', minimum: 0, maximum: 10_000 },
            failureWindow: duration,
            newIp: { type: 'boolean' },
            tightenFor: duration,
          },
        },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'kind', 'classes', 'max', 'action'],
            properties: {
              id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
              description: { type: 'string' },
              enabled: { type: 'boolean' },
              kind: { enum: ['concurrent', 'rate'] },
              classes: { type: 'array', minItems: 1, items: { enum: ['internal', 'local', 'national', 'international', 'premium', 'emergency', 'invalid'] } },
              scope: { enum: ['account', 'ip', 'global'] },
              window: duration,
              max: { type: 'integer', minimum: 0, maximum: 1_000_000 },
              suspectMax: { type: 'integer', minimum: 0, maximum: 1_000_000 },
              action: { enum: ['hangup', 'block-intl', 'block-account'] },
            },
          },
        },
        response: {
          type: 'object',
          additionalProperties: false,
          properties: {
            blockIntl: duration,
            blockAccount: duration,
            banIp: { type: 'boolean' },
            banIpFor: duration,
            escalateAfter: { type: 'integer', minimum: 1, maximum: 1000 },
            repeatWindow: duration,
            hangupCause: { type: 'integer', minimum: 1, maximum: 127 },
          },
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
        fail2banFormat: { type: 'boolean' },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
  },
} as const;
