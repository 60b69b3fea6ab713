import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { framesFromBuffer } from '../../src/sources/ami/framer.ts';
import { Normalizer } from '../../src/normalize/normalizer.ts';
import type { AmiFrame, DomainEvent, SecurityEvent } from '../../src/domain/types.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/ami/', import.meta.url));

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.ami')).sort();
}

export function fixtureFrames(name: string): AmiFrame[] {
  return framesFromBuffer(readFileSync(join(FIXTURES, name)));
}

export function fixtureEvents(name: string): DomainEvent[] {
  const n = new Normalizer();
  return fixtureFrames(name)
    .map((f) => n.normalize(f))
    .filter((e): e is DomainEvent => e !== null);
}

/** A security event for unit tests, with overrides. */
export function sec(over: Partial<SecurityEvent> & { ip?: string } = {}): SecurityEvent {
  const { ip = '198.18.0.11', ...rest } = over;
  return {
    kind: 'security',
    type: 'ChallengeResponseFailed',
    time: 0,
    service: 'PJSIP',
    account: '1001',
    sessionId: 's1',
    remote: { family: ip.includes(':') ? 6 : 4, transport: 'UDP', ip, port: 5060 },
    severity: 'Error',
    attempt: true,
    extra: {},
    ...rest,
  };
}
