import { eq, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Scope } from '../auth/keys.ts';
import { ForbiddenError, ValidationError } from './errors.ts';

/** The WHERE clause limiting a query to the caller's dealer (none for the admin). */
export function tenantFilter(scope: Scope, dealerColumn: PgColumn): SQL | undefined {
  return scope.kind === 'admin' ? undefined : eq(dealerColumn, scope.dealerId);
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
