/** Builds the whole app for a test: emulator on a free port, fresh database, collected log lines. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { buildApp } from '../../src/app.ts';
import { registerAdminKey } from '../../src/auth/keys.ts';
import { type Config, loadConfig, secretsOf } from '../../src/config.ts';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { type Cache, createCache } from '../../src/platform/cache.ts';
import { ManualClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/index.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createStripeClient } from '../../src/stripe/client.ts';
import { ensureWebhookEndpoint } from '../../src/webhooks/endpoint.ts';
import { createTestDatabase, TEST_REDIS_URL } from './db.ts';

/** The admin key every test app accepts. */
export const TEST_ADMIN_KEY = 'mp_admin_test_key_0123456789abcdef';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: Database;
  stripe: Stripe;
  emulator: RunningEmulator;
  clock: ManualClock;
  cache: Cache;
  /** Every log line written so far (JSON strings). */
  logLines: string[];
  /** Authorization header for the admin. */
  admin: { authorization: string };
  /** Creates a dealer through the API; returns its id and auth header. */
  createDealer(name?: string): Promise<{ id: string; apiKey: string; auth: { authorization: string } }>;
  close(): Promise<void>;
}

/** Options of createTestApp. */
export interface TestAppOptions {
  /** Extra environment for loadConfig. */
  env?: Record<string, string>;
  /**
   * Listen on a free loopback port and register the webhook endpoint with the emulator, so Stripe events really
   * arrive through POST /webhooks/stripe (and POST /api/dev/advance-time works). The inbox loop runs.
   */
  listen?: boolean | { port: number };
}

/** Starts everything a test needs; call close() in afterAll. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const env = options.env ?? {};
  const emulator = await startEmulator({ port: 0 });
  const config = loadConfig({ ADMIN_API_KEY: TEST_ADMIN_KEY, DATA_DIR: '/nonexistent-test-data', ...env });
  const { database, drop } = await createTestDatabase();
  const clock = new ManualClock(emulator.now() * 1000);
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ secrets: secretsOf(config), destination, level: 'debug' });
  const stripe = createStripeClient(
    { ...config, mode: 'offline' },
    { host: emulator.host, port: emulator.port },
  );
  await registerAdminKey(database.db, TEST_ADMIN_KEY, new Date(clock.now()));
  const cache = createCache({
    redisUrl: TEST_REDIS_URL,
    clock,
    log: logger,
    keyPrefix: `mp-test:${randomBytes(6).toString('hex')}:`,
  });
  const runtimeSecrets: string[] = [];
  const app = await buildApp({
    config,
    database,
    stripe,
    clock,
    logger,
    cache,
    webhookSecrets: () => runtimeSecrets,
    devClock: {
      advance: async (seconds) => {
        await emulator.advance(seconds);
        clock.set(emulator.now() * 1000);
      },
      now: () => clock.now(),
    },
  });
  await app.ready();
  if (options.listen) {
    const port = typeof options.listen === 'object' ? options.listen.port : 0;
    const address = await app.listen({ port, host: '127.0.0.1' });
    runtimeSecrets.push(
      await ensureWebhookEndpoint(stripe, database.db, clock, `${address}/webhooks/stripe`),
    );
    app.inbox.start();
  }
  const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  return {
    app,
    config,
    database,
    stripe,
    emulator,
    clock,
    cache,
    logLines,
    admin,
    async createDealer(name = 'Reisemobile Test GmbH') {
      const res = await app.inject({
        method: 'POST',
        url: '/api/admin/dealers',
        headers: admin,
        payload: { name },
      });
      if (res.statusCode !== 201) throw new Error(`dealer creation failed: ${res.statusCode} ${res.body}`);
      const body = res.json() as { id: string; apiKey: string };
      return { id: body.id, apiKey: body.apiKey, auth: { authorization: `Bearer ${body.apiKey}` } };
    },
    async close() {
      await app.close();
      await cache.close();
      await emulator.close();
      await drop();
    },
  };
}
