import { pino, type Logger } from 'pino';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * pino JSON lines on stdout when stdout is not a terminal (journald, SIEM);
 * with the live console on the terminal, logs go to <stateDir>/sipwarden.log.
 */
export function createLogger(level: string, tty: boolean, stateDir: string): Logger {
  if (!tty) return pino({ level, base: { service: 'sipwarden' } });
  try {
    mkdirSync(stateDir, { recursive: true });
    return pino({ level, base: { service: 'sipwarden' } }, pino.destination({ dest: join(stateDir, 'sipwarden.log'), sync: false, mkdir: true }));
  } catch {
    return pino({ level: 'silent' });
  }
}
