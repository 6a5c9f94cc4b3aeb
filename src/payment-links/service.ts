import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Scope } from '../auth/keys.ts';
import { dealers } from '../auth/schema.ts';
import { BUYERS, getBuyerRow } from '../customers/service.ts';
import { productForModel } from '../financing/products.ts';
import { SEPA_DEBIT_LIMIT_CENTS } from '../invoices/service.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { collectionTags, owningDealer, tags, tenantFilter, withTenant } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { type PaymentLinkRow, paymentLinks } from './schema.ts';
import type { CreatePaymentLinkInput, PaymentLinkView } from './schemas.ts';

/** The cache collection name of payment links. */
export const LINKS = 'payment-links';

const KIND_LABEL = { down_payment: 'Anzahlung', remainder: 'Restzahlung', other: 'Zahlung' } as const;

/** Row → API view. */
export function toPaymentLinkView(row: PaymentLinkRow): PaymentLinkView {
  return {
    id: row.id,
    url: row.url,
    status: row.status,
    amount: row.amount,
    kind: row.kind,
    vehicleId: row.vehicleId,
    vehicleModel: row.vehicleModel,
    buyerEmail: row.buyerEmail,
    customerId: row.buyerId,
    stripePaymentLinkId: row.stripePaymentLinkId,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The metadata that travels with the link, its Checkout Session and (via payment_intent_data) its payment. */
function linkMetadata(row: PaymentLinkRow): Record<string, string> {
  return {
    moreloLinkId: row.id,
    dealerId: row.dealerId,
    vehicleId: row.vehicleId,
    vehicleModel: row.vehicleModel,
    kind: row.kind,
    buyerEmail: row.buyerEmail,
    ...(row.buyerId ? { buyerId: row.buyerId } : {}),
  };
}

/**
 * Creates a payment link for one payment: at most one completed session, metadata that reaches the payment, and a
 * redirect to our success page. Keyed by our link id, so a retried request resumes the same link.
 */
export async function createPaymentLink(
  deps: ServiceDeps,
  scope: Scope,
  input: CreatePaymentLinkInput,
  idempotencyKey: string | undefined,
): Promise<PaymentLinkView> {
  const dealerId = owningDealer(scope, input.dealerId);
  const [dealer] = await deps.db.select({ id: dealers.id }).from(dealers).where(eq(dealers.id, dealerId));
  if (!dealer)
    throw new ValidationError('Unknown dealer.', [{ field: 'body.dealerId', message: 'no such dealer' }]);
  const buyer = input.customerId
    ? await getBuyerRow(deps, { kind: 'dealer', dealerId }, input.customerId).catch((err) => {
        if (err instanceof NotFoundError) {
          throw new ValidationError('Unknown customer.', [
            { field: 'body.customerId', message: 'no such customer' },
          ]);
        }
        throw err;
      })
    : undefined;

  const now = new Date(deps.clock.now());
  const requestKey = idempotencyKey ?? null;
  let [row] = requestKey
    ? await deps.db.select().from(paymentLinks).where(eq(paymentLinks.requestKey, requestKey))
    : [];
  if (!row) {
    [row] = await deps.db
      .insert(paymentLinks)
      .values({
        id: newId('lnk'),
        dealerId,
        buyerId: buyer?.id ?? null,
        vehicleId: input.vehicleId,
        vehicleModel: input.vehicleModel,
        kind: input.kind,
        amount: input.amount,
        buyerEmail: input.buyerEmail,
        status: 'creating',
        requestKey,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
  }
  if (!row) throw new Error('payment link row vanished');
  if (row.status !== 'creating') return toPaymentLinkView(row);

  const product = await productForModel(deps.db, deps.stripe, row.vehicleModel, now);
  const metadata = linkMetadata(row);
  const link = await deps.stripe.paymentLinks
    .create(
      {
        line_items: [{ price_data: { currency: 'eur', product, unit_amount: row.amount }, quantity: 1 }],
        // Above the SEPA debit limit only cards; below it SEPA Direct Debit as well.
        payment_method_types: row.amount > SEPA_DEBIT_LIMIT_CENTS ? ['card'] : ['card', 'sepa_debit'],
        restrictions: { completed_sessions: { limit: 1 } },
        after_completion: {
          type: 'redirect',
          redirect: {
            url: `${deps.publicBaseUrl}/payments/success?link=${row.id}&session={CHECKOUT_SESSION_ID}`,
          },
        },
        metadata,
        payment_intent_data: {
          description: `${KIND_LABEL[row.kind]} MORELO ${row.vehicleModel} (${row.vehicleId})`,
          metadata,
        },
      },
      { idempotencyKey: stripeIdempotencyKey('payment-link', row.id, 'create') },
    )
    .catch(wrapStripeError);
  const [updated] = await deps.db
    .update(paymentLinks)
    .set({ status: 'active', stripePaymentLinkId: link.id, url: link.url, updatedAt: now })
    .where(and(eq(paymentLinks.id, row.id), eq(paymentLinks.status, 'creating')))
    .returning();
  await deps.cache.invalidateTags([
    ...collectionTags(LINKS, dealerId),
    ...(row.buyerId ? [tags.object(BUYERS, row.buyerId)] : []),
  ]);
  return toPaymentLinkView(
    updated ?? { ...row, status: 'active', stripePaymentLinkId: link.id, url: link.url },
  );
}

/** One payment link of the caller. */
export async function getPaymentLinkRow(
  deps: ServiceDeps,
  scope: Scope,
  id: string,
): Promise<PaymentLinkRow> {
  const [row] = await withTenant(deps.db, scope, (db) =>
    db
      .select()
      .from(paymentLinks)
      .where(and(eq(paymentLinks.id, id), tenantFilter(scope, paymentLinks.dealerId))),
  );
  if (!row) throw new NotFoundError('Payment link', id);
  return row;
}

/** Stops a link from taking another payment (idempotent at Stripe). */
export async function deactivateStripeLink(deps: ServiceDeps, row: PaymentLinkRow): Promise<void> {
  if (!row.stripePaymentLinkId) return;
  const link: Stripe.PaymentLink = await deps.stripe.paymentLinks.retrieve(row.stripePaymentLinkId);
  if (link.active) {
    await deps.stripe.paymentLinks.update(
      row.stripePaymentLinkId,
      { active: false },
      { idempotencyKey: stripeIdempotencyKey('payment-link', row.id, 'deactivate') },
    );
  }
}
