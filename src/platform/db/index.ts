/**
 * The database: Postgres through `pg` when DATABASE_URL is set, otherwise embedded PGlite.
 * Both are driven by one drizzle `PgDatabase`, so repositories never know which one runs.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { applyMigrations, type MigrationTarget } from './migrate.ts';

/** The typed query layer every repository uses; the same type on both drivers. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** An open database with its driver hidden behind `db`. */
export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Applies pending migrations (serialised across instances by an advisory lock). */
  migrate(): Promise<string[]>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Where the data lives: a Postgres URL, a PGlite directory, or PGlite in memory (tests). */
export type DatabaseLocation = { url: string } | { dir: string } | { memory: true };

/** Opens the database; an unreadable data dir or unreachable server ends with one clear error. */
export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  if ('url' in location) return openPostgres(location.url);
  if ('dir' in location) {
    try {
      mkdirSync(location.dir, { recursive: true });
      accessSync(location.dir, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new Error(
        `data directory ${location.dir} is not readable and writable (${(err as Error).message})`,
      );
    }
    return openPglite(new PGlite(path.join(location.dir, 'pglite')));
  }
  return openPglite(new PGlite());
}

async function openPglite(client: PGlite): Promise<Database> {
  await client.waitReady;
  const db = drizzlePglite(client) as unknown as Db;
  const target: MigrationTarget = {
    inLockedTransaction: (work) =>
      client.transaction(async (tx) =>
        work({
          query: async (text, params) => (await tx.query<Record<string, unknown>>(text, params)).rows,
          exec: async (text) => {
            await tx.exec(text);
          },
        }),
      ),
  };
  return {
    db,
    kind: 'pglite',
    migrate: () => applyMigrations(target),
    ping: () => ping(db),
    close: () => client.close(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot reach Postgres at DATABASE_URL (${(err as Error).message})`);
  }
  const db = drizzlePg(pool) as unknown as Db;
  const target: MigrationTarget = {
    inLockedTransaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async (text, params) => (await client.query(text, params as unknown[])).rows,
          // Without parameters pg uses the simple protocol, which runs a whole migration file at once.
          exec: async (text) => {
            await client.query(text);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
  };
  return {
    db,
    kind: 'postgres',
    migrate: () => applyMigrations(target),
    ping: () => ping(db),
    close: () => pool.end(),
  };
}

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}
