import { and, eq } from 'drizzle-orm';
import type { Scope } from '../auth/keys.ts';
import { dealers } from '../auth/schema.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { afterCursor, newestFirst, toPage } from '../platform/pagination.ts';
import { collectionTags, owningDealer, tags, tenantFilter } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { type BuyerRow, buyers, type PostalAddress } from './schema.ts';
import type { BuyerView, CreateBuyerInput } from './schemas.ts';

/** The cache collection name of buyers. */
export const BUYERS = 'customers';

/** Row → API view. */
export function toBuyerView(row: BuyerRow): BuyerView {
  const { line2, postalCode, city, ...rest } = row.address;
  return {
    id: row.id,
    dealerId: row.dealerId,
    buyerId: row.buyerRef,
    vehicleId: row.vehicleId,
    type: row.type,
    name: row.name,
    email: row.email,
    phone: row.phone,
    address: {
      ...rest,
      ...(line2 ? { line2 } : {}),
      ...(postalCode ? { postalCode } : {}),
      ...(city ? { city } : {}),
    },
    vatId: row.vatId,
    stripeCustomerId: row.stripeCustomerId,
    unappliedTransfer: row.unappliedTransferAmount,
    deleted: row.deletedAt !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

function normaliseAddress(address: CreateBuyerInput['address']): PostalAddress {
  return typeof address === 'string' ? { line1: address, country: 'DE' } : { ...address };
}

/** The result of createBuyer: the buyer and whether this call created it. */
export interface CreateBuyerResult {
  buyer: BuyerView;
  created: boolean;
}

/**
 * Creates a buyer: our row first (unique per dealer + buyerId), then the Stripe customer with an idempotency
 * key derived from that row, so a retry — or the same buyer sent twice — never makes a second customer.
 */
export async function createBuyer(
  deps: ServiceDeps,
  scope: Scope,
  input: CreateBuyerInput,
): Promise<CreateBuyerResult> {
  const dealerId = owningDealer(scope, input.dealerId);
  const [dealer] = await deps.db.select({ id: dealers.id }).from(dealers).where(eq(dealers.id, dealerId));
  if (!dealer)
    throw new ValidationError('Unknown dealer.', [{ field: 'body.dealerId', message: 'no such dealer' }]);

  const now = new Date(deps.clock.now());
  const address = normaliseAddress(input.address);
  const inserted = await deps.db
    .insert(buyers)
    .values({
      id: newId('byr'),
      dealerId,
      buyerRef: input.buyerId,
      vehicleId: input.vehicleId,
      type: input.type,
      name: input.name,
      email: input.email,
      phone: input.phone ?? null,
      address,
      vatId: input.vatId ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: [buyers.dealerId, buyers.buyerRef] })
    .returning();
  const created = inserted.length > 0;
  const [row] = created
    ? inserted
    : await deps.db
        .select()
        .from(buyers)
        .where(and(eq(buyers.dealerId, dealerId), eq(buyers.buyerRef, input.buyerId)));
  if (!row) throw new Error('buyer row vanished');
  if (row.stripeCustomerId) return { buyer: toBuyerView(row), created: false };

  const customer = await deps.stripe.customers
    .create(
      {
        name: row.name,
        email: row.email,
        ...(row.phone ? { phone: row.phone } : {}),
        address: {
          line1: row.address.line1,
          ...(row.address.line2 ? { line2: row.address.line2 } : {}),
          ...(row.address.postalCode ? { postal_code: row.address.postalCode } : {}),
          ...(row.address.city ? { city: row.address.city } : {}),
          country: row.address.country,
        },
        preferred_locales: ['de'],
        metadata: {
          buyerId: row.buyerRef,
          vehicleId: row.vehicleId,
          dealerId: row.dealerId,
          moreloBuyerId: row.id,
          buyerType: row.type,
          ...(row.vatId ? { vatId: row.vatId } : {}),
        },
      },
      { idempotencyKey: stripeIdempotencyKey('buyer', row.id, 'create-customer') },
    )
    .catch(wrapStripeError);
  const [updated] = await deps.db
    .update(buyers)
    .set({ stripeCustomerId: customer.id, updatedAt: now })
    .where(eq(buyers.id, row.id))
    .returning();
  await deps.cache.invalidateTags([...collectionTags(BUYERS, dealerId), tags.object(BUYERS, row.id)]);
  return { buyer: toBuyerView(updated ?? row), created };
}

/** The caller's buyers, newest first. */
export async function listBuyers(
  deps: ServiceDeps,
  scope: Scope,
  page: { limit: number; cursor?: string | undefined },
) {
  const rows = await deps.db
    .select()
    .from(buyers)
    .where(and(tenantFilter(scope, buyers.dealerId), afterCursor(buyers.createdAt, buyers.id, page.cursor)))
    .orderBy(...newestFirst(buyers.createdAt, buyers.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, toBuyerView);
}

/** One buyer of the caller; another dealer's buyer is "not found". */
export async function getBuyerRow(deps: ServiceDeps, scope: Scope, id: string): Promise<BuyerRow> {
  const [row] = await deps.db
    .select()
    .from(buyers)
    .where(and(eq(buyers.id, id), tenantFilter(scope, buyers.dealerId)));
  if (!row) throw new NotFoundError('Customer', id);
  return row;
}
