/**
 * A fresh, isolated database per test file: an in-memory PGlite by default, or — when DATABASE_URL is set
 * (CI's second run) — a new database on that Postgres server, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/platform/db/index.ts';

/** The Postgres server tests run against, if any. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL || undefined;
/** The Redis server tests run against, if any. */
export const TEST_REDIS_URL = process.env.REDIS_URL || process.env.TEST_REDIS_URL || undefined;

/** A migrated, empty database and a function that removes it. */
export async function createTestDatabase(): Promise<{
  database: Database;
  url?: string;
  drop(): Promise<void>;
}> {
  if (!TEST_DATABASE_URL) {
    const database = await openDatabase({ memory: true });
    await database.migrate();
    // A test may have closed it already (to simulate an outage).
    return { database, drop: () => database.close().catch(() => {}) };
  }
  const name = `mp_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString() });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close().catch(() => {});
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
