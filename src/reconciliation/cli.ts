/**
 * `npm run reconcile [-- --full]`: one reconciliation run against the configured Stripe and database, printed as
 * JSON; `--full` compares every invoice and link, not only outstanding and recently changed ones. Offline, the
 * emulator must be running (`npm start` or `npm run emulator`).
 */
import { buildApp } from '../app.ts';
import { ConfigError, loadConfig, secretsOf } from '../config.ts';
import { createCache } from '../platform/cache.ts';
import { SystemClock } from '../platform/clock.ts';
import { openDatabase } from '../platform/db/index.ts';
import { databaseLocation } from '../platform/db/location.ts';
import { createLogger } from '../platform/logger.ts';
import { createStripeClient } from '../stripe/client.ts';
import { reconcile } from './service.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`reconcile: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger({ secrets: secretsOf(config), destination: process.stderr as never });
const database = await openDatabase(databaseLocation(config));
await database.migrate();
const stripe = createStripeClient(config);
const clock = new SystemClock();
const cache = createCache({ redisUrl: config.redisUrl, clock, log: logger });
const app = await buildApp({ config, database, stripe, clock, logger, cache });
try {
  const report = await reconcile(
    {
      db: database.db,
      stripe,
      clock,
      cache,
      log: logger,
      publicBaseUrl: config.publicBaseUrl,
    },
    { applyNow: () => app.inbox.drain(), full: process.argv.includes('--full') },
  );
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.differences.length > 0 ? 2 : 0;
} catch (err) {
  process.stderr.write(`reconcile: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await app.close();
  await cache.close();
  await database.close();
}
