// AMI client over node:net: login with an event mask, frames$ of events,
// correlated actions with their own deadline, keep-alive pings, jittered
// reconnects. Actions are never queued or replayed: after a reconnect,
// channel names are reused, so a stale Hangup could hit an innocent call.
import net from 'node:net';
import { BehaviorSubject, type Observable } from 'rxjs';
import { Hub } from '../../rx/hub.ts';
import { pino, type Logger } from 'pino';
import type { AmiFrame } from '../../domain/types.ts';
import { AmiFramer, DEFAULT_MAX_FRAME_BYTES, header, type FramerError } from './framer.ts';
import { AmiValueError, encodeAction, type AmiAction } from './encode.ts';
import { escapeText as escapeControl } from '../../console/escape.ts';

/**
 * security: the security events; call: Newchannel/DialBegin/Hangup;
 * dialplan: Newexten (the captures show `Privilege: dialplan,all`). The
 * dialplan class also carries VarSet, about 3 per Newexten: the price of
 * seeing what a call dials.
 */
export const DEFAULT_EVENTS = 'security,call,dialplan';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'auth-failed' | 'stopped';

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Consecutive connection attempts without a stable session (1 = first). */
  readonly attempt: number;
  /** Why we are in this state (escaped, printable). */
  readonly reason?: string;
  /** ms until the next connection attempt, when one is scheduled. */
  readonly nextRetryMs?: number;
  /** Greeting of the current connection, e.g. `Asterisk Call Manager/11.0.0`. */
  readonly greeting?: string;
  /** ms since epoch of the transition. */
  readonly since: number;
}

export interface ReconnectOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** 'full': delay = random(0, min(max, initial * 2^(n-1))). 'none': no jitter. */
  readonly jitter?: 'full' | 'none';
}

export type SocketFactory = (target: { host: string; port: number }) => net.Socket;

export interface AmiClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
  /** Login `Events:` mask. Default DEFAULT_EVENTS. */
  readonly events?: string;
  readonly actionTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** TCP connect + login deadline. Default 10000. */
  readonly connectTimeoutMs?: number;
  readonly reconnect?: ReconnectOptions;
  /**
   * Delay before trying again after a refused login. A wrong secret will not
   * fix itself and every try raises an InvalidPassword on the PBX (and may
   * get us banned by fail2ban): wait long. 0 = stop trying. Default 60000.
   */
  readonly authFailedRetryMs?: number;
  /** A session that lasted this long resets the backoff. Default 30000. */
  readonly stableAfterMs?: number;
  readonly maxFrameBytes?: number;
  readonly logger?: Logger;
  readonly socketFactory?: SocketFactory;
  /** Escapes attacker text before logging. Default escapeControl. */
  readonly escape?: (text: string) => string;
  /** For tests: jitter source in [0, 1). */
  readonly random?: () => number;
}

export interface ActionOptions {
  readonly timeoutMs?: number;
}

export interface AmiResponse {
  /** The `Response:` frame. */
  readonly response: AmiFrame;
  /** True for `Response: Success` (and old `Follows`). */
  readonly ok: boolean;
  /** Events of a list action (`EventList: start`), without the closing one. */
  readonly events: readonly AmiFrame[];
  /** The closing `EventList: Complete` event of a list action. */
  readonly complete?: AmiFrame;
}

export interface AmiCounters {
  /** Frames parsed (events, responses). */
  frames: number;
  events: number;
  bytes: number;
  malformedLines: number;
  oversize: number;
  invalidUtf8: number;
  /** Connection attempts after the first. */
  reconnects: number;
  actionsSent: number;
  actionTimeouts: number;
  pingTimeouts: number;
  authFailures: number;
  /** Responses whose ActionID we no longer wait for (late after a timeout). */
  unmatchedResponses: number;
}

/** action() while not logged in. Nothing was sent. */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor(readonly status: ConnectionStatus) {
    super(`AMI not connected (${status}): action not sent, and it will not be queued`);
  }
}

/** No response within the action's deadline. */
export class ActionTimeoutError extends Error {
  override readonly name = 'ActionTimeoutError';
  constructor(
    readonly action: string,
    readonly actionId: string,
    readonly timeoutMs: number,
  ) {
    super(`AMI action ${action} (ActionID ${actionId}) got no response within ${timeoutMs} ms`);
  }
}

/** The connection dropped while the action waited. It may or may not have run. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
  constructor(
    readonly action: string,
    readonly actionId: string,
    reason: string,
  ) {
    super(`AMI connection lost before ${action} (ActionID ${actionId}) completed: ${reason}; it will not be re-sent`);
  }
}

interface Pending {
  readonly action: string;
  readonly id: string;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (r: AmiResponse) => void;
  readonly reject: (e: Error) => void;
  response?: AmiFrame;
  events: AmiFrame[];
}

const silentLogger = (): Logger => pino({ level: 'silent' });

export class AmiClient {
  readonly frames$: Observable<AmiFrame>;
  readonly state$: Observable<ConnectionState>;

  private readonly opts: Required<
    Pick<
      AmiClientOptions,
      | 'events'
      | 'actionTimeoutMs'
      | 'pingIntervalMs'
      | 'pingTimeoutMs'
      | 'connectTimeoutMs'
      | 'authFailedRetryMs'
      | 'stableAfterMs'
      | 'maxFrameBytes'
    >
  >;
  private readonly backoff: Required<ReconnectOptions>;
  private readonly log: Logger;
  private readonly escape: (text: string) => string;
  private readonly random: () => number;
  private readonly socketFactory: SocketFactory;
  private readonly framesSubject = new Hub<AmiFrame>();
  private readonly stateSubject: BehaviorSubject<ConnectionState>;
  private readonly framer: AmiFramer;
  private readonly pending = new Map<string, Pending>();
  private readonly counterValues: AmiCounters = {
    frames: 0,
    events: 0,
    bytes: 0,
    malformedLines: 0,
    oversize: 0,
    invalidUtf8: 0,
    reconnects: 0,
    actionsSent: 0,
    actionTimeouts: 0,
    pingTimeouts: 0,
    authFailures: 0,
    unmatchedResponses: 0,
  };

  private socket: net.Socket | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingInFlight = false;
  private attempt = 0;
  private started = false;
  private stopped = false;
  private loggedInAt = 0;
  // ActionIDs never repeat over the client's life, across reconnects too:
  // a late answer to an old action can never be taken for a new one.
  private nextId = 0;
  private readonly idPrefix = `sw${process.pid.toString(36)}${Date.now().toString(36)}`;
  /** Why the current socket is being closed (set before destroy). */
  private closeReason: string | undefined;
  private authFailed = false;
  private connects = 0;

  constructor(private readonly options: AmiClientOptions) {
    this.opts = {
      events: options.events ?? DEFAULT_EVENTS,
      actionTimeoutMs: options.actionTimeoutMs ?? 5000,
      pingIntervalMs: options.pingIntervalMs ?? 10000,
      pingTimeoutMs: options.pingTimeoutMs ?? 5000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10000,
      authFailedRetryMs: options.authFailedRetryMs ?? 60000,
      stableAfterMs: options.stableAfterMs ?? 30000,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    };
    this.backoff = {
      initialMs: options.reconnect?.initialMs ?? 500,
      maxMs: options.reconnect?.maxMs ?? 30000,
      jitter: options.reconnect?.jitter ?? 'full',
    };
    this.escape = options.escape ?? escapeControl;
    this.random = options.random ?? Math.random;
    this.socketFactory = options.socketFactory ?? ((t) => net.createConnection({ host: t.host, port: t.port }));
    this.log = (options.logger ?? silentLogger()).child({ component: 'ami', host: options.host, port: options.port });
    // Fail at construction, not at every login, on credentials we cannot send.
    encodeAction(this.loginAction('probe'));
    this.framer = new AmiFramer({
      maxFrameBytes: this.opts.maxFrameBytes,
      onGreeting: (g) => this.onGreeting(g),
      onError: (e) => this.onFramerError(e),
    });
    this.stateSubject = new BehaviorSubject<ConnectionState>({
      status: 'disconnected',
      attempt: 0,
      reason: 'not started',
      since: Date.now(),
    });
    this.frames$ = this.framesSubject;
    this.state$ = this.stateSubject.asObservable();
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.stateSubject.getValue();
  }

  /** Snapshot of the counters, for metrics. */
  get counters(): Readonly<AmiCounters> {
    const s = this.framer.stats;
    return {
      ...this.counterValues,
      bytes: s.bytes,
      malformedLines: s.malformedLines,
      oversize: s.oversize,
      invalidUtf8: s.invalidUtf8,
    };
  }

  /** Actions awaiting an answer (for tests and metrics). */
  get pendingActions(): number {
    return this.pending.size;
  }

  /** Begin connecting; reconnects on its own until stop(). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.connect();
  }

  /**
   * Send one action and wait for its response (and list events). Rejects at
   * once with NotConnectedError when not logged in, and with AmiValueError
   * on a field that cannot be sent safely; nothing is written then.
   */
  action(fields: AmiAction, options: ActionOptions = {}): Promise<AmiResponse> {
    if (this.state.status !== 'connected' || !this.socket) {
      return Promise.reject(new NotConnectedError(this.state.status));
    }
    return this.send(fields, options.timeoutMs ?? this.opts.actionTimeoutMs);
  }

  /** Log off, close the socket, clear every timer. Final. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    this.rejectAll('client stopped');
    this.setState({ status: 'stopped', attempt: this.attempt, reason: 'stopped by caller' });
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        // A server that never closes its side must not keep us alive.
        const hardStop = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => {
          clearTimeout(hardStop);
          resolve();
        });
        try {
          if (this.loggedInAt > 0) socket.write(encodeAction({ Action: 'Logoff' }));
          socket.end();
        } catch {
          socket.destroy();
        }
      });
    }
    this.framesSubject.complete();
    this.stateSubject.complete();
  }

  // --- connection ---------------------------------------------------------

  private connect(): void {
    if (this.stopped) return;
    this.retryTimer = undefined;
    this.attempt++;
    if (this.connects++ > 0) this.counterValues.reconnects++;
    this.authFailed = false;
    this.closeReason = undefined;
    this.loggedInAt = 0;
    this.framer.reset();
    this.setState({ status: 'connecting', attempt: this.attempt });

    let socket: net.Socket;
    try {
      socket = this.socketFactory({ host: this.options.host, port: this.options.port });
    } catch (err) {
      this.scheduleReconnect(`socket factory failed: ${errorText(err)}`);
      return;
    }
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30000);
    this.connectTimer = setTimeout(() => {
      this.dropSocket(socket, `no login within ${this.opts.connectTimeoutMs} ms`);
    }, this.opts.connectTimeoutMs);

    const onReady = (): void => {
      // Login goes out at once: Asterisk sends its greeting first and then
      // reads; waiting for the greeting would add a round trip for nothing.
      const id = this.newId();
      this.send(this.loginAction(id), this.opts.connectTimeoutMs, id).then(
        (r) => this.onLoginResponse(socket, r),
        (err: unknown) => {
          if (!(err instanceof ConnectionLostError)) this.dropSocket(socket, `login: ${errorText(err)}`);
        },
      );
    };
    if (socket.readyState === 'open') onReady();
    else socket.once('connect', onReady);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) => {
      // 'close' follows; keep the first reason.
      this.closeReason ??= errorText(err);
    });
    socket.on('close', () => this.onClose(socket));
  }

  private loginAction(id: string): AmiAction {
    return [
      ['Action', 'Login'],
      ['ActionID', id],
      ['Username', this.options.username],
      ['Secret', this.options.secret],
      // `Events`, plural: Asterisk's login reads that header only.
      ['Events', this.opts.events],
    ];
  }

  private onLoginResponse(socket: net.Socket, r: AmiResponse): void {
    if (socket !== this.socket) return;
    if (!r.ok) {
      const message = this.escape(header(r.response, 'Message') ?? 'login refused');
      this.counterValues.authFailures++;
      this.authFailed = true;
      this.dropSocket(socket, `login refused: ${message}`);
      return;
    }
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.loggedInAt = Date.now();
    this.setState({ status: 'connected', attempt: this.attempt, greeting: this.framer.greeting });
    this.pingTimer = setInterval(() => this.ping(socket), this.opts.pingIntervalMs);
  }

  private ping(socket: net.Socket): void {
    if (this.pingInFlight || socket !== this.socket) return;
    this.pingInFlight = true;
    this.send({ Action: 'Ping' }, this.opts.pingTimeoutMs).then(
      () => {
        this.pingInFlight = false;
      },
      (err: unknown) => {
        this.pingInFlight = false;
        if (err instanceof ActionTimeoutError && socket === this.socket) {
          this.counterValues.pingTimeouts++;
          // A half-dead TCP session can stay "open" for hours: cut it.
          this.dropSocket(socket, `no Pong within ${this.opts.pingTimeoutMs} ms`);
        }
      },
    );
  }

  private dropSocket(socket: net.Socket, reason: string): void {
    if (socket !== this.socket) return;
    this.closeReason ??= reason;
    socket.destroy();
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.clearTimers();
    const reason = this.closeReason ?? 'connection closed by peer';
    this.rejectAll(reason);
    if (this.stopped) return;
    if (this.loggedInAt > 0 && Date.now() - this.loggedInAt >= this.opts.stableAfterMs) this.attempt = 0;
    if (this.authFailed) this.onAuthFailed(reason);
    else this.scheduleReconnect(reason);
  }

  private onAuthFailed(reason: string): void {
    const retry = this.opts.authFailedRetryMs;
    if (retry <= 0) {
      this.setState({ status: 'auth-failed', attempt: this.attempt, reason: `${reason}; not retrying (fix the AMI credentials)` });
      return;
    }
    this.setState({
      status: 'auth-failed',
      attempt: this.attempt,
      reason: `${reason}; retrying in ${retry} ms (fix the AMI credentials)`,
      nextRetryMs: retry,
    });
    this.retryTimer = setTimeout(() => this.connect(), retry);
  }

  private scheduleReconnect(reason: string): void {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(30, Math.max(0, this.attempt - 1)));
    // Full jitter spreads many guards restarting against one PBX.
    const delay = Math.round(this.backoff.jitter === 'full' ? this.random() * ceiling : ceiling);
    this.setState({ status: 'disconnected', attempt: this.attempt, reason, nextRetryMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private clearTimers(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.connectTimer = this.retryTimer = this.pingTimer = undefined;
    this.pingInFlight = false;
  }

  // --- actions ------------------------------------------------------------

  private newId(): string {
    return `${this.idPrefix}-${++this.nextId}`;
  }

  /** `presetId`: the login action is built with its ActionID already. */
  private send(fields: AmiAction, timeoutMs: number, presetId?: string): Promise<AmiResponse> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new NotConnectedError(this.state.status));
    let id: string;
    let bytes: Buffer;
    let name: string;
    try {
      if (presetId !== undefined) {
        id = presetId;
        bytes = encodeAction(fields);
      } else {
        // Our ActionID is the correlation key: a caller's would break it.
        if (hasActionId(fields)) throw new AmiValueError('ActionID', 'reserved-key');
        id = this.newId();
        bytes = encodeAction(withActionId(fields, id));
      }
      name = actionName(fields);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AmiResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Deleting the entry is the point: no callback outlives its deadline.
        this.pending.delete(id);
        this.counterValues.actionTimeouts++;
        this.log.warn({ action: name, actionId: id, timeoutMs }, 'AMI action timed out');
        reject(new ActionTimeoutError(name, id, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { action: name, id, timer, resolve, reject, events: [] });
      try {
        socket.write(bytes);
        this.counterValues.actionsSent++;
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ConnectionLostError(name, id, errorText(err)));
      }
    });
  }

  private rejectAll(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(new ConnectionLostError(p.action, p.id, reason));
    }
  }

  // --- input --------------------------------------------------------------

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    const frames = this.framer.push(chunk);
    for (let i = 0; i < frames.length; i++) {
      this.counterValues.frames++;
      this.dispatch(frames[i]!);
      // A subscriber or a login failure may have dropped the socket.
      if (socket !== this.socket) return;
    }
  }

  private dispatch(frame: AmiFrame): void {
    const event = header(frame, 'Event');
    const id = header(frame, 'ActionID');
    if (event !== undefined) {
      this.counterValues.events++;
      if (id !== undefined) this.onListEvent(id, frame);
      // List events (CoreShowChannel...) go to frames$ too: the pipeline
      // uses them to learn the calls already up after a reconnect.
      this.framesSubject.next(frame);
      return;
    }
    if (header(frame, 'Response') !== undefined) {
      this.onResponse(id, frame);
      return;
    }
    this.log.debug({ headers: frame.headers.length }, 'AMI frame with neither Event nor Response ignored');
  }

  private onResponse(id: string | undefined, frame: AmiFrame): void {
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p) {
      this.counterValues.unmatchedResponses++;
      this.log.debug({ actionId: id === undefined ? undefined : this.escape(id) }, 'AMI response for no pending action');
      return;
    }
    const kind = (header(frame, 'Response') ?? '').toLowerCase();
    const ok = kind === 'success' || kind === 'follows' || kind === 'goodbye';
    if (ok && (header(frame, 'EventList') ?? '').toLowerCase() === 'start') {
      p.response = frame; // the list's events follow; its own timer still runs
      return;
    }
    this.settle(p, { response: frame, ok, events: p.events });
  }

  private onListEvent(id: string, frame: AmiFrame): void {
    const p = this.pending.get(id);
    if (!p?.response) return;
    const state = (header(frame, 'EventList') ?? '').toLowerCase();
    if (state === 'complete' || state === 'cancelled') {
      this.settle(p, { response: p.response, ok: state === 'complete', events: p.events, complete: frame });
    } else {
      p.events.push(frame);
    }
  }

  private settle(p: Pending, r: AmiResponse): void {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    p.resolve(r);
  }

  private onGreeting(greeting: string): void {
    this.log.debug({ greeting: this.escape(greeting) }, 'AMI greeting');
  }

  private onFramerError(e: FramerError): void {
    // Rate of these is bounded by frame size; warn, as each one is unusual.
    this.log.warn(
      { reason: e.reason, bytes: e.bytes, sample: e.sample === undefined ? undefined : this.escape(e.sample) },
      'AMI framing problem',
    );
  }

  private setState(next: Omit<ConnectionState, 'since'>): void {
    const state: ConnectionState = { ...next, since: Date.now() };
    const level = next.status === 'connected' || next.status === 'connecting' ? 'info' : next.status === 'stopped' ? 'info' : 'warn';
    this.log[level](
      { status: state.status, attempt: state.attempt, reason: state.reason, nextRetryMs: state.nextRetryMs, greeting: state.greeting === undefined ? undefined : this.escape(state.greeting) },
      `AMI ${state.status}`,
    );
    this.stateSubject.next(state);
  }
}

function hasActionId(fields: AmiAction): boolean {
  const keys = Array.isArray(fields) ? fields.map(([k]) => k) : Object.keys(fields);
  return keys.some((k) => k.toLowerCase() === 'actionid');
}

function withActionId(fields: AmiAction, id: string): AmiAction {
  if (Array.isArray(fields)) return [...(fields as ReadonlyArray<readonly [string, string | number | boolean]>), ['ActionID', id]];
  return { ...fields, ActionID: id };
}

function actionName(fields: AmiAction): string {
  const v = Array.isArray(fields)
    ? (fields as ReadonlyArray<readonly [string, unknown]>).find(([k]) => k.toLowerCase() === 'action')?.[1]
    : Object.entries(fields).find(([k]) => k.toLowerCase() === 'action')?.[1];
  return String(v);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
