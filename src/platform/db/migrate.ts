import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The migration files, in order: migrations/NNN_name.sql at the repository root. */
export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../migrations',
);

/** A transaction on one connection, with raw access; each driver provides one. */
export interface MigrationTarget {
  inLockedTransaction<T>(
    work: (tx: {
      query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
      exec(text: string): Promise<void>;
    }) => Promise<T>,
  ): Promise<T>;
}

// Any constant works; it only has to be the same for every instance of this service.
const MIGRATION_LOCK_ID = 7_406_221_001;

/**
 * Applies every migration file not yet recorded, each in the one transaction that holds an advisory lock,
 * so two instances starting at once apply each file exactly once (the second waits, then finds nothing to do).
 * Returns the names applied now.
 */
export async function applyMigrations(target: MigrationTarget, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return target.inLockedTransaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const rows = await tx.query('SELECT name FROM schema_migrations');
    const applied = new Set(rows.map((r) => String(r.name)));
    const done: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      await tx.exec(readFileSync(path.join(dir, file), 'utf8'));
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      done.push(file);
    }
    return done;
  });
}
