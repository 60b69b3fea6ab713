import type { Config } from '../config/config.ts';
import type { Responder } from '../respond/responder.ts';
import type { ServiceContext } from './service.ts';

/** Enforcing responders chosen by the config. */
export async function buildResponders(_cfg: Config, _ctx: ServiceContext): Promise<Responder[]> {
  return [];
}
