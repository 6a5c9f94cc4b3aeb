/**
 * Entry point: reads the config, starts the emulator (offline), the database, the app and the workers,
 * and prints where everything is. `--emulator-only` (npm run emulator) starts just the Stripe emulator.
 */
import path from 'node:path';
import { buildApp } from './app.ts';
import { registerAdminKey } from './auth/keys.ts';
import { type Config, ConfigError, loadConfig, secretsOf } from './config.ts';
import type { DevClock } from './dev/routes.ts';
import { type RunningEmulator, startEmulator } from './emulator/index.ts';
import { loadOrCreateAdminKey } from './platform/admin-key.ts';
import { createCache } from './platform/cache.ts';
import { SystemClock } from './platform/clock.ts';
import { openDatabase } from './platform/db/index.ts';
import { databaseLocation } from './platform/db/location.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { reconcile } from './reconciliation/service.ts';
import { createStripeClient } from './stripe/client.ts';
import { ensureWebhookEndpoint } from './webhooks/endpoint.ts';

/** Ends the process with one clear line instead of a stack trace. */
function fail(message: string): never {
  process.stderr.write(`morelo-payments: ${message}\n`);
  process.exit(1);
}

async function startEmulatorFor(config: Config): Promise<RunningEmulator> {
  return startEmulator({
    port: config.stripe.emulatorPort,
    host: '127.0.0.1',
    dataDir: path.join(config.dataDir, 'emulator'),
    webhookSigningSecret: config.stripe.webhookSecrets[0],
  });
}

async function runEmulatorOnly(config: Config): Promise<void> {
  const emulator = await startEmulatorFor(config);
  process.stdout.write(
    `Stripe emulator listening on ${emulator.url}\n` +
      `Use it from any Stripe SDK: new Stripe('sk_test_…', { host: '${emulator.host}', port: ${emulator.port}, protocol: 'http' })\n`,
  );
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Minutes between reconciliation runs; one also runs right after start, to catch up after downtime. */
const RECONCILE_EVERY_MS = 15 * 60_000;

/** Starts reconciliation (not a clock job: it runs on wall-clock time, not on every advance of the offline clock). */
function startReconciliation(app: Awaited<ReturnType<typeof buildApp>>, logger: Logger): () => void {
  const runReconcile = () =>
    reconcile(app.services, { applyNow: () => app.inbox.drain() })
      .then((report) =>
        logger.info(
          {
            full: report.full,
            replayed: report.eventsReplayed.length,
            differences: report.differences.length,
          },
          'reconciliation done',
        ),
      )
      .catch((err) => logger.warn({ err }, 'reconciliation failed; will try again'));
  void runReconcile();
  const timer = setInterval(runReconcile, RECONCILE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The offline clock: the emulator moves first, then the service follows its time. */
function offlineClock(emulator: RunningEmulator, clock: SystemClock): DevClock {
  return {
    advance: async (seconds) => {
      await emulator.advance(seconds);
      clock.syncTo(emulator.now() * 1000);
    },
    now: () => clock.now(),
  };
}

async function runService(config: Config): Promise<void> {
  const logger = createLogger({ secrets: secretsOf(config) });
  const clock = new SystemClock();
  let emulator: RunningEmulator | undefined;
  if (config.mode === 'offline') {
    emulator = await startEmulatorFor(config);
    // The service's offline clock follows the emulator's, which may have been advanced in an earlier run.
    clock.syncTo(emulator.now() * 1000);
  }
  const database = await openDatabase(databaseLocation(config));
  await database.migrate();

  const admin = config.adminApiKey
    ? { key: config.adminApiKey, created: false }
    : loadOrCreateAdminKey(config.dataDir);
  await registerAdminKey(database.db, admin.key, new Date(clock.now()));

  const stripe = createStripeClient(config, emulator);
  const cache = createCache({ redisUrl: config.redisUrl, clock, log: logger });
  const runtimeSecrets: string[] = [];
  const devClock = emulator ? offlineClock(emulator, clock) : undefined;
  const app = await buildApp({
    config,
    database,
    stripe,
    clock,
    logger,
    cache,
    webhookSecrets: () => runtimeSecrets,
    ...(devClock ? { devClock } : {}),
  });
  await app.listen({ port: config.port, host: config.host });
  const base = `http://${config.host}:${config.port}`;
  if (emulator) {
    // The emulator delivers to us like Stripe would; the listener must be up before the first event.
    runtimeSecrets.push(await ensureWebhookEndpoint(stripe, database.db, clock, `${base}/webhooks/stripe`));
  }
  app.inbox.start();
  const stopReconciliation = startReconciliation(app, logger);
  app.clockJobs.start();
  app.outbox.start();

  const lines = [
    '',
    `morelo-payments is running (${config.mode} mode, ${database.kind === 'pglite' ? `PGlite in ${config.dataDir}` : 'Postgres'})`,
    `  service:   ${base}`,
    `  API docs:  ${base}/docs`,
    `  dashboard: ${base}/dashboard`,
    `  health:    ${base}/health`,
  ];
  if (emulator) lines.push(`  Stripe emulator: ${emulator.url} (any sk_test_ key)`);
  if (!config.adminApiKey) {
    lines.push(
      `  admin key: ${admin.key}${admin.created ? ' (new; kept in DATA_DIR/admin-key)' : ' (from DATA_DIR/admin-key)'}`,
    );
  }
  lines.push(
    '',
    'Next: create a dealer and use its key:',
    `  curl -s -X POST ${base}/api/admin/dealers -H 'Authorization: Bearer <admin key>' -H 'Content-Type: application/json' -d '{"name":"Reisemobile Muster GmbH"}'`,
    '',
  );
  // The banner is for the person at the terminal; the admin key goes to stdout, never into the log.
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      stopReconciliation();
      await app.close();
      await cache.close();
      await emulator?.close();
      await database.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  try {
    if (process.argv.includes('--emulator-only')) await runEmulatorOnly(config);
    else await runService(config);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { port?: number };
    if (e.code === 'EADDRINUSE')
      fail(`port ${e.port ?? config.port} is already in use (set PORT / STRIPE_EMULATOR_PORT).`);
    fail((err as Error).message);
  }
}

await main();
