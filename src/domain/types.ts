// Domain types shared by every stage of the data path:
// frames -> events -> alerts -> decisions -> responders.

/** One AMI frame: ordered headers, repeated keys kept (ChanVariable, Output). */
export interface AmiFrame {
  /** [key, value] pairs in wire order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body lines of a `Response: Follows` (command output), if any. */
  readonly body?: readonly string[];
}

export type Transport = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

export interface Endpoint {
  readonly family: 4 | 6;
  readonly transport: Transport;
  readonly ip: string;
  readonly port: number;
}

export const SECURITY_EVENT_TYPES = [
  'FailedACL',
  'InvalidAccountID',
  'SessionLimit',
  'MemoryLimit',
  'LoadAverageLimit',
  'RequestNotSupported',
  'RequestNotAllowed',
  'AuthMethodNotAllowed',
  'RequestBadFormat',
  'SuccessfulAuth',
  'UnexpectedAddress',
  'ChallengeResponseFailed',
  'InvalidPassword',
  'ChallengeSent',
  'InvalidTransport',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** Security events that mean a request was refused: they count as failures. */
export const FAILURE_TYPES: ReadonlySet<SecurityEventType> = new Set<SecurityEventType>([
  'FailedACL',
  'InvalidAccountID',
  'SessionLimit',
  'MemoryLimit',
  'LoadAverageLimit',
  'RequestNotSupported',
  'RequestNotAllowed',
  'AuthMethodNotAllowed',
  'RequestBadFormat',
  'UnexpectedAddress',
  'ChallengeResponseFailed',
  'InvalidPassword',
  'InvalidTransport',
]);

export interface SecurityEvent {
  readonly kind: 'security';
  readonly type: SecurityEventType;
  /** Event time, ms since epoch (EventTV, or the latest seen). */
  readonly time: number;
  /** 'PJSIP', 'AMI', ... */
  readonly service: string;
  /** Attacker-controlled text: never print raw, never pass to an action. */
  readonly account: string;
  readonly sessionId: string;
  readonly remote: Endpoint;
  readonly local?: Endpoint;
  readonly severity: string;
  /**
   * True when this frame is a new attempt rather than a retransmit of one
   * already seen (see normalize/attempt-key.ts for the key per type).
   */
  readonly attempt: boolean;
  /** Extra fields detectors may use (ACLName, Challenge, ...). */
  readonly extra: Readonly<Record<string, string>>;
}

export type CallEventType = 'Newchannel' | 'DialBegin' | 'Newexten' | 'Hangup' | 'CoreShowChannel';

export interface CallEvent {
  readonly kind: 'call';
  readonly type: CallEventType;
  readonly time: number;
  readonly channel: string;
  readonly uniqueId: string;
  readonly linkedId: string;
  readonly callerIdNum: string;
  readonly context: string;
  readonly exten: string;
  /** DialBegin: the dialed string; Newexten: the application. */
  readonly extra: Readonly<Record<string, string>>;
}

export type DomainEvent = SecurityEvent | CallEvent;

export type TargetKind = 'ip' | 'account' | 'channel';
export interface Target {
  readonly ip?: string;
  readonly account?: string;
  readonly channel?: string;
  /** Asterisk Uniqueid of the channel (ARI channel id), for hangups. */
  readonly uniqueId?: string;
}

export interface Evidence {
  readonly attempts: number;
  readonly events: number;
  /** ISO times of the first and last event in the window. */
  readonly first: string;
  readonly last: string;
  readonly sampleAccounts: readonly string[];
  readonly sampleIps: readonly string[];
  readonly service?: string;
}

export type ActionKind = 'ban-ip' | 'block-account' | 'hangup' | 'block-intl' | 'watch';

export interface Alert {
  readonly rule: string;
  readonly kind: string;
  /** The key the rule grouped on (an IP, a CIDR, an account). */
  readonly key: string;
  readonly groupBy: GroupBy;
  readonly action: ActionKind;
  readonly time: number;
  readonly reason: string;
  readonly evidence: Evidence;
  /** Ban every port, not only SIP (AMI attackers, blacklisted ranges). */
  readonly allPorts?: boolean;
  readonly channels?: readonly string[];
}

export type GroupBy = 'ip' | 'account' | 'subnet' | 'ip+account';

export interface Decision {
  readonly id: string;
  readonly action: ActionKind;
  readonly target: Target;
  readonly rule: string;
  readonly reason: string;
  readonly time: number;
  /** ms; 0 for actions without a duration (hangup, watch). */
  readonly durationMs: number;
  readonly expiresAt: number;
  /** How many times this target was decided against before (escalation step). */
  readonly offence: number;
  readonly allPorts: boolean;
  readonly evidence: Evidence;
  readonly dryRun: boolean;
}
