import { parseDuration } from '../config/duration.ts';

/** Destination classes, from harmless to costly. Emergency is never limited. */
export const DEST_CLASSES = ['internal', 'local', 'national', 'international', 'premium', 'emergency', 'invalid'] as const;
export type DestClass = (typeof DEST_CLASSES)[number];

export interface DialingConfig {
  /** ISO 3166 code of the site: national numbers and the home country. */
  readonly country: string;
  /** Longest first after resolution, so `011` wins over `0`. */
  readonly internationalPrefixes: readonly string[];
  /** Trunk prefix of national format (`1` in NANP, `0` in most of Europe); '' = none. */
  readonly nationalPrefix: string;
  /** Outside-line prefixes dialed before the number (`9`), stripped first. */
  readonly stripPrefixes: readonly string[];
  readonly emergency: readonly string[];
  /** Numbers this short are extensions. */
  readonly extensionMaxLength: number;
  /** E.164 prefixes without `+` treated as premium/high-risk (satellite +881/+882/+883...). */
  readonly highRiskPrefixes: readonly string[];
  /** libphonenumber-js getType() values treated as premium. */
  readonly premiumTypes: readonly string[];
  /** Non-empty: only these destination countries are plain international; the rest are high-risk. */
  readonly allowCountries: readonly string[];
  /** These destination countries are high-risk. */
  readonly denyCountries: readonly string[];
  /** Longer dialed strings are invalid (attacker padding). */
  readonly maxLength: number;
}

export type TollScope = 'account' | 'ip' | 'global';
export type TollAction = 'hangup' | 'block-intl' | 'block-account';

/** A toll-fraud limit: data in config; its kind is code (calls/detector.ts). */
export interface TollRule {
  readonly id: string;
  readonly description?: string;
  /** concurrent: calls up at once; rate: calls started within the window. */
  readonly kind: 'concurrent' | 'rate';
  readonly classes: readonly DestClass[];
  readonly scope: TollScope;
  readonly windowMs: number;
  /** Allowed; one more is a violation. */
  readonly max: number;
  /** Limit while the account is suspect (compromise heuristic). */
  readonly suspectMax: number;
  readonly action: TollAction;
}

export interface TollFraudConfig {
  readonly enabled: boolean;
  readonly dialing: DialingConfig;
  /** SuccessfulAuth of the account this shortly before a call gives the call's source IP. */
  readonly authCorrelationMs: number;
  /** Endpoints whose calls are not tracked (trunks: inbound calls are no toll risk). */
  readonly ignoreEndpoints: readonly string[];
  readonly compromise: {
    /** Success after this many failures for the account (any source) makes it suspect; 0 = off. */
    readonly failuresBefore: number;
    readonly failureWindowMs: number;
    /** Success from an address the account never used before makes it suspect. */
    readonly newIp: boolean;
    /** How long a suspect account keeps its tightened limits. */
    readonly tightenForMs: number;
  };
  readonly rules: readonly TollRule[];
  readonly response: {
    readonly blockIntlMs: number;
    readonly blockAccountMs: number;
    readonly banIpMs: number;
    /** Ban the source IP when an account is blocked. */
    readonly banIp: boolean;
    /** International attempts while international dialing is blocked before the account block. */
    readonly escalateAfter: number;
    /** A second block-intl within this window becomes an account block. */
    readonly repeatWindowMs: number;
    /** Q.850 cause for hangups (21 call rejected). */
    readonly hangupCause: number;
  };
}

const INTL: DestClass[] = ['international', 'premium'];

export const DEFAULT_TOLL_RULES: readonly TollRule[] = [
  { id: 'premium-calls', description: 'Premium/high-risk destinations (satellite +881/+882/+883, premium rate): 1 a day, none while suspect', kind: 'rate', classes: ['premium'], scope: 'account', windowMs: 86_400_000, max: 1, suspectMax: 0, action: 'block-intl' },
  { id: 'intl-concurrent', description: 'International calls up at once per account', kind: 'concurrent', classes: INTL, scope: 'account', windowMs: 0, max: 2, suspectMax: 1, action: 'hangup' },
  { id: 'intl-rate', description: 'International calls started per account per hour (an office user makes 1 or 2)', kind: 'rate', classes: INTL, scope: 'account', windowMs: 3_600_000, max: 10, suspectMax: 3, action: 'block-intl' },
  { id: 'call-attempts', description: 'Call attempts of any kind per account per minute', kind: 'rate', classes: ['internal', 'local', 'national', 'international', 'premium', 'invalid'], scope: 'account', windowMs: 60_000, max: 20, suspectMax: 10, action: 'block-account' },
  { id: 'intl-concurrent-global', description: 'International calls up at once on the whole PBX', kind: 'concurrent', classes: INTL, scope: 'global', windowMs: 0, max: 10, suspectMax: 10, action: 'hangup' },
];

const ms = (v: unknown, dflt: number, path: string, problems: string[]): number => {
  if (v === undefined) return dflt;
  const d = parseDuration(v);
  if (!Number.isFinite(d)) problems.push(`${path}: not a duration`);
  return d;
};

/** Raw (schema-validated) `tollFraud` JSON -> resolved config with defaults; pushes problems. */
export function resolveTollFraud(raw: Record<string, any> | undefined, problems: string[]): TollFraudConfig {
  const c = raw ?? {};
  const d = c.dialing ?? {};
  const p = 'tollFraud';
  const rules: TollRule[] = [];
  const ids = new Set<string>();
  const rawRules: Array<Record<string, any>> | undefined = c.rules;
  if (rawRules === undefined) rules.push(...DEFAULT_TOLL_RULES);
  else
    rawRules.forEach((r, i) => {
      if (ids.has(r.id)) problems.push(`${p}.rules[${i}].id: duplicate rule id "${r.id}"`);
      ids.add(r.id);
      if (r.kind === 'rate' && r.window === undefined) problems.push(`${p}.rules[${i}].window: required when kind is "rate"`);
      if (r.kind === 'concurrent' && r.window !== undefined) problems.push(`${p}.rules[${i}].window: only for kind "rate"`);
      if (r.enabled === false) return;
      const windowMs = ms(r.window, 0, `${p}.rules[${i}].window`, problems);
      if (r.kind === 'rate' && windowMs <= 0) problems.push(`${p}.rules[${i}].window: must be longer than 0`);
      const classes = (r.classes as DestClass[]).filter((x) => x !== 'emergency');
      if (classes.length !== r.classes.length) problems.push(`${p}.rules[${i}].classes: emergency calls are never limited`);
      rules.push({
        id: r.id,
        ...(r.description ? { description: r.description } : {}),
        kind: r.kind,
        classes,
        scope: r.scope ?? 'account',
        windowMs,
        max: r.max,
        suspectMax: Math.min(r.suspectMax ?? r.max, r.max),
        action: r.action,
      });
    });
  const cmp = c.compromise ?? {};
  const rsp = c.response ?? {};
  const upper = (xs: string[] | undefined) => (xs ?? []).map((x) => x.toUpperCase());
  return {
    enabled: c.enabled ?? true,
    dialing: {
      country: (d.country ?? 'US').toUpperCase(),
      internationalPrefixes: [...(d.internationalPrefixes ?? ['011', '00', '+'])].sort((a: string, b: string) => b.length - a.length),
      nationalPrefix: d.nationalPrefix ?? '1',
      stripPrefixes: d.stripPrefixes ?? [],
      emergency: d.emergency ?? ['911', '112', '999', '000', '933'],
      extensionMaxLength: d.extensionMaxLength ?? 5,
      highRiskPrefixes: d.highRiskPrefixes ?? ['870', '881', '882', '883', '979'],
      premiumTypes: d.premiumTypes ?? ['PREMIUM_RATE', 'SHARED_COST'],
      allowCountries: upper(d.countries?.allow),
      denyCountries: upper(d.countries?.deny),
      maxLength: d.maxLength ?? 24,
    },
    authCorrelationMs: ms(c.tracking?.authCorrelation, 10_000, `${p}.tracking.authCorrelation`, problems),
    ignoreEndpoints: c.tracking?.ignoreEndpoints ?? [],
    compromise: {
      failuresBefore: cmp.failuresBefore ?? 3,
      failureWindowMs: ms(cmp.failureWindow, 600_000, `${p}.compromise.failureWindow`, problems),
      newIp: cmp.newIp ?? true,
      tightenForMs: ms(cmp.tightenFor, 3_600_000, `${p}.compromise.tightenFor`, problems),
    },
    rules,
    response: {
      blockIntlMs: ms(rsp.blockIntl, 3_600_000, `${p}.response.blockIntl`, problems),
      blockAccountMs: ms(rsp.blockAccount, 3_600_000, `${p}.response.blockAccount`, problems),
      banIpMs: ms(rsp.banIpFor, 3_600_000, `${p}.response.banIpFor`, problems),
      banIp: rsp.banIp ?? true,
      escalateAfter: rsp.escalateAfter ?? 3,
      repeatWindowMs: ms(rsp.repeatWindow, 86_400_000, `${p}.response.repeatWindow`, problems),
      hangupCause: rsp.hangupCause ?? 21,
    },
  };
}
