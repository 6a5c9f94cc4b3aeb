import type Stripe from 'stripe';
import type { Cache } from './cache.ts';
import type { Clock } from './clock.ts';
import type { Db } from './db/index.ts';
import type { Logger } from './logger.ts';

/** What a capability's service functions need; built once in app.ts and passed down. */
export interface ServiceDeps {
  db: Db;
  stripe: Stripe;
  clock: Clock;
  cache: Cache;
  log: Logger;
  /** Base URL for links back to us (payment success page, setup return). */
  publicBaseUrl: string;
}
