// A fake Asterisk manager on 127.0.0.1:0 for client tests: greeting, login
// check (Events, secret), Ping, a list action, and hooks to stay silent.
import net from 'node:net';
import type { AmiFrame } from '../../../src/domain/types.ts';
import { AmiFramer, header } from '../../../src/sources/ami/framer.ts';

export interface Received {
  readonly conn: number;
  readonly frame: AmiFrame;
}

export class FakeAmi {
  readonly username = 'sipwarden';
  secret = 'right';
  /** Connections accepted so far. */
  connections = 0;
  /** Every action received, with the connection number (1-based). */
  readonly received: Received[] = [];
  /** Stop answering Ping (simulates a hung Asterisk). */
  pingSilent = false;
  /** Actions (lower-case) that get no response at all. */
  readonly silent = new Set<string>(['silent']);
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly loggedIn = new Set<net.Socket>();
  port = 0;

  async start(port = 0): Promise<number> {
    this.server = net.createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    this.dropAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Send raw text to every logged-in connection. */
  broadcast(text: string): void {
    for (const s of this.loggedIn) s.write(text);
  }

  actionIds(): string[] {
    return this.received.map((r) => header(r.frame, 'ActionID') ?? '');
  }

  actionsOn(conn: number): string[] {
    return this.received.filter((r) => r.conn === conn).map((r) => header(r.frame, 'Action') ?? '');
  }

  private onConnection(socket: net.Socket): void {
    socket.setNoDelay(true); // as Asterisk sets TCP_NODELAY on manager connections
    const conn = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.loggedIn.delete(socket);
    });
    socket.on('error', () => {});
    const framer = new AmiFramer({ expectGreeting: false });
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) {
        this.received.push({ conn, frame });
        this.answer(socket, frame);
      }
    });
  }

  private answer(socket: net.Socket, frame: AmiFrame): void {
    const action = (header(frame, 'Action') ?? '').toLowerCase();
    const id = header(frame, 'ActionID') ?? '';
    const reply = (lines: string[]): void => {
      if (!socket.destroyed) socket.write(lines.map((l) => l + '\r\n').join('') + '\r\n');
    };
    if (this.silent.has(action)) return;
    switch (action) {
      case 'login':
        if (header(frame, 'Username') === this.username && header(frame, 'Secret') === this.secret) {
          this.loggedIn.add(socket);
          reply(['Response: Success', `ActionID: ${id}`, 'Message: Authentication accepted']);
          reply(['Event: FullyBooted', 'Privilege: system,all', 'Status: Fully Booted']);
        } else {
          reply(['Response: Error', `ActionID: ${id}`, 'Message: Authentication failed']);
          // Asterisk closes the session after a failed login.
          socket.end();
        }
        return;
      case 'ping':
        if (!this.pingSilent) reply(['Response: Success', `ActionID: ${id}`, 'Ping: Pong', 'Timestamp: 1.0']);
        return;
      case 'logoff':
        reply(['Response: Goodbye', `ActionID: ${id}`, 'Message: Thanks for all the fish.']);
        socket.end();
        return;
      case 'coreshowchannels':
        reply(['Response: Success', `ActionID: ${id}`, 'EventList: start', 'Message: Channels will follow']);
        for (const ch of ['PJSIP/1002-00000001', 'PJSIP/1002-00000002']) {
          reply(['Event: CoreShowChannel', `ActionID: ${id}`, `Channel: ${ch}`, 'Exten: 011882161234567']);
        }
        reply(['Event: CoreShowChannelsComplete', `ActionID: ${id}`, 'EventList: Complete', 'ListItems: 2']);
        return;
      default:
        reply(['Response: Error', `ActionID: ${id}`, 'Message: Invalid/unknown command']);
    }
  }
}
