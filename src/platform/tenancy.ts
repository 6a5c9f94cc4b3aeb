import { eq, is, type SQL, sql } from 'drizzle-orm';
import { type PgColumn, PgTransaction } from 'drizzle-orm/pg-core';
import type { Scope } from '../auth/keys.ts';
import type { Db } from './db/index.ts';
import { ForbiddenError, ValidationError } from './errors.ts';

/** The WHERE clause limiting a query to the caller's dealer (none for the admin). */
export function tenantFilter(scope: Scope, dealerColumn: PgColumn): SQL | undefined {
  return scope.kind === 'admin' ? undefined : eq(dealerColumn, scope.dealerId);
}

/** The role dealer-scoped work runs as; migration 009's row-level security policies bind it to one dealer. */
export const TENANT_ROLE = 'morelo_tenant';

/**
 * Runs `fn` behind row-level security, a second line beside tenantFilter: for a dealer, in a transaction as
 * TENANT_ROLE with `app.dealer_id` naming the dealer, so the database itself hides other dealers' rows and
 * refuses writes for them; for the admin, on `db` unchanged. `fn` must query through the handle it is given.
 */
export async function withTenant<T>(db: Db, scope: Scope, fn: (db: Db) => Promise<T>): Promise<T> {
  if (scope.kind === 'admin') return fn(db);
  const { dealerId } = scope;
  // Inside a caller's transaction this is a savepoint, and SET LOCAL outlives a released savepoint, so the
  // caller's role and dealer are put back afterwards (a rollback to the savepoint restores them by itself).
  const nested = is(db, PgTransaction);
  return db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const outer = nested ? await tenantSettings(tx) : undefined;
    await applyTenantSettings(tx, { role: TENANT_ROLE, dealerId });
    const result = await fn(tx);
    if (outer) await applyTenantSettings(tx, outer);
    return result;
  });
}

interface TenantSettings {
  role: string;
  dealerId: string;
}

async function tenantSettings(tx: Db): Promise<TenantSettings> {
  const { rows } = (await tx.execute(
    sql`select current_setting('role') as role, coalesce(current_setting('app.dealer_id', true), '') as "dealerId"`,
  )) as unknown as { rows: TenantSettings[] };
  const row = rows[0];
  if (!row) throw new Error('current_setting returned no row');
  return row;
}

// set_config('role', …) is SET LOCAL ROLE as a function, so the dealer id travels as a bound parameter and both
// settings take one round trip; both end with the transaction.
async function applyTenantSettings(tx: Db, settings: TenantSettings): Promise<void> {
  await tx.execute(
    sql`select set_config('role', ${settings.role}, true), set_config('app.dealer_id', ${settings.dealerId}, true)`,
  );
}

/**
 * The dealer a new object belongs to: a dealer key implies its own (naming another is 403 on that field);
 * the admin must name one.
 */
export function owningDealer(scope: Scope, requested: string | undefined): string {
  if (scope.kind === 'dealer') {
    if (requested !== undefined && requested !== scope.dealerId) {
      throw new ForbiddenError('A dealer key can only act for its own dealer.', [
        { field: 'body.dealerId', message: 'must be your own dealer id (or omitted)' },
      ]);
    }
    return scope.dealerId;
  }
  if (!requested) {
    throw new ValidationError('The admin key must name the dealer.', [
      { field: 'body.dealerId', message: 'required' },
    ]);
  }
  return requested;
}

/** Cache tag names, in one place so writers and readers agree. */
export const tags = {
  /** Every list of a collection across dealers (the admin's view). */
  all: (collection: string) => `${collection}:all`,
  /** One dealer's lists of a collection. */
  dealer: (collection: string, dealerId: string) => `${collection}:dealer:${dealerId}`,
  /** One object and everything shown with it. */
  object: (collection: string, id: string) => `${collection}:${id}`,
  /** A vehicle's account (GET /api/payments/vehicles/:id): everything that moves its money or its buyer's. */
  vehicle: (dealerId: string, vehicleId: string) => `vehicles:${dealerId}:${vehicleId}`,
};

/** Everything the treasury routes show (balance, transactions); every money-moving handler invalidates it. */
export const TREASURY_TAG = 'treasury';

/** The tags a write to one dealer's collection must invalidate. */
export function collectionTags(collection: string, dealerId: string): string[] {
  return [tags.all(collection), tags.dealer(collection, dealerId)];
}

/** The tag a list read is stored under. */
export function listTag(collection: string, scope: Scope): string {
  return scope.kind === 'admin' ? tags.all(collection) : tags.dealer(collection, scope.dealerId);
}
