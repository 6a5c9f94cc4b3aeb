import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/index.ts';
import { createTestDatabase } from '../helpers/db.ts';

async function count(db: Awaited<ReturnType<typeof openDatabase>>['db']): Promise<number> {
  const result = (await db.execute(sql`select count(*)::int as n from schema_migrations`)) as unknown as {
    rows: { n: number }[];
  };
  return Number(result.rows[0]?.n);
}

describe('migrations', () => {
  it('apply each file once even when two instances start at the same moment', async () => {
    const { database, url, drop } = await createTestDatabase();
    try {
      const total = await count(database.db);
      expect(total).toBeGreaterThan(0);
      // A second instance on the same database (a second connection pool on Postgres; on PGlite the same one).
      const second = url ? await openDatabase({ url }) : database;
      const results = await Promise.all([database.migrate(), second.migrate(), database.migrate()]);
      expect(results.flat()).toEqual([]);
      expect(await count(database.db)).toBe(total);
      if (second !== database) await second.close();
    } finally {
      await drop();
    }
  });

  it('a fresh database gets every migration, and concurrent first starts apply them exactly once', async () => {
    const { TEST_DATABASE_URL } = await import('../helpers/db.ts');
    if (!TEST_DATABASE_URL) {
      const a = await openDatabase({ memory: true });
      const [first, second] = await Promise.all([a.migrate(), a.migrate()]);
      expect(first.length + second.length).toBe(first.length || second.length);
      expect(first.length > 0 || second.length > 0).toBe(true);
      await a.close();
      return;
    }
    const pg = (await import('pg')).default;
    const name = `mp_mig_${Date.now()}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    const a = await openDatabase({ url: url.toString() });
    const b = await openDatabase({ url: url.toString() });
    const [first, second] = await Promise.all([a.migrate(), b.migrate()]);
    // One instance applied everything, the other waited for the lock and found nothing to do.
    expect([first.length, second.length].sort()).toEqual([0, Math.max(first.length, second.length)]);
    expect(Math.max(first.length, second.length)).toBeGreaterThan(0);
    await a.close();
    await b.close();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  });
});
