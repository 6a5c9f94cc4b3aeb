import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Scope } from '../auth/keys.ts';
import { BUYERS, getBuyerRow } from '../customers/service.ts';
import { berlinDate } from '../platform/dates.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { collectionTags, tags, tenantFilter, withTenant } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { type InvoiceKind, type InvoiceRow, type InvoiceStatus, invoices } from './schema.ts';
import type { CreateInvoiceInput, InvoiceView } from './schemas.ts';

/** The cache collection name of invoices. */
export const INVOICES = 'invoices';

/**
 * Stripe's default cap for one SEPA Direct Debit (10.000,00 €), and a consumer may reclaim an authorised debit for
 * 8 weeks: above it, invoices are offered by bank transfer and card only.
 */
export const SEPA_DEBIT_LIMIT_CENTS = 1_000_000;

/** Which ways to pay an invoice of this amount. */
export function paymentMethodTypesFor(amount: number): string[] {
  return amount > SEPA_DEBIT_LIMIT_CENTS
    ? ['customer_balance', 'card']
    : ['sepa_debit', 'card', 'customer_balance'];
}

const KIND_LABEL: Record<InvoiceKind, string> = {
  down_payment: 'Anzahlung',
  remainder: 'Restzahlung',
  other: 'Rechnung',
  instalment: 'Finanzierungsrate',
  balloon: 'Schlussrate',
  payoff: 'Ablösung',
};

/**
 * The notice § 286 (3) BGB asks for on consumer invoices: without it, default against a consumer does not start by
 * the 30-day rule. (The invoice's calendar due date — "zahlbar bis" — already starts it without a reminder.)
 */
export const CONSUMER_DEFAULT_NOTICE =
  'Hinweis gemäß § 286 Abs. 3 BGB: Sie kommen spätestens in Verzug, wenn Sie nicht innerhalb von 30 Tagen nach Fälligkeit und Zugang dieser Rechnung leisten.';

/** Row → API view. */
export function toInvoiceView(row: InvoiceRow): InvoiceView {
  return {
    id: row.id,
    customerId: row.buyerId,
    vehicleId: row.vehicleId,
    kind: row.kind,
    description: row.description,
    number: row.number,
    status: row.status,
    amountDue: row.amount,
    amountPaid: row.amountPaid,
    amountRemaining: row.amountRemaining,
    paymentProcessing: row.paymentProcessing,
    dueDate: row.dueDate,
    hostedInvoiceUrl: row.hostedInvoiceUrl,
    paymentMethodTypes: row.paymentMethodTypes,
    stripeInvoiceId: row.stripeInvoiceId,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Everything invoiceFromStripe needs to move our row to Stripe's state. */
export function stripeStateOf(invoice: Stripe.Invoice): Partial<InvoiceRow> {
  return {
    status: (invoice.status ?? 'draft') as InvoiceStatus,
    number: invoice.number,
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    dueDate: invoice.due_date ? berlinDate(invoice.due_date * 1000) : null,
    amountPaid: invoice.amount_paid,
    amountRemaining: invoice.amount_remaining,
  };
}

/** What to put on the Stripe invoice for one of ours. */
function stripeInvoiceParams(
  row: InvoiceRow,
  customer: string,
  buyerType: string,
): Stripe.InvoiceCreateParams {
  const types = row.paymentMethodTypes as Stripe.InvoiceCreateParams.PaymentSettings.PaymentMethodType[];
  return {
    customer,
    collection_method: 'send_invoice',
    days_until_due: row.daysUntilDue,
    auto_advance: false,
    pending_invoice_items_behavior: 'exclude',
    description: `${KIND_LABEL[row.kind]} – ${row.description}`,
    payment_settings: {
      payment_method_types: types,
      ...(types.includes('customer_balance')
        ? {
            payment_method_options: {
              customer_balance: {
                funding_type: 'bank_transfer',
                bank_transfer: { type: 'eu_bank_transfer', eu_bank_transfer: { country: 'DE' } },
              },
            },
          }
        : {}),
    },
    metadata: {
      moreloInvoiceId: row.id,
      kind: row.kind,
      vehicleId: row.vehicleId,
      dealerId: row.dealerId,
      buyerId: row.buyerId,
      ...(row.financingPlanId ? { financingPlanId: row.financingPlanId } : {}),
    },
    ...(buyerType === 'consumer' ? { footer: CONSUMER_DEFAULT_NOTICE } : {}),
  };
}

/** Input of issueInvoice: the part shared by the API, financing (balloon, payoff) and dunning. */
export interface IssueInvoiceInput {
  dealerId: string;
  buyerId: string;
  vehicleId: string;
  kind: InvoiceKind;
  amount: number;
  description: string;
  daysUntilDue: number;
  financingPlanId?: string | null;
  /** The caller's idempotency key (scoped): a retry resumes the same invoice. */
  requestKey?: string | null;
}

/**
 * Creates, fills and sends a Stripe invoice for one of ours. Every step is keyed by our invoice id, so a crash or a
 * retry resumes the same invoice at the step it reached — never a second invoice to the buyer.
 */
export async function issueInvoice(deps: ServiceDeps, input: IssueInvoiceInput): Promise<InvoiceRow> {
  const buyer = await getBuyerRow(deps, { kind: 'dealer', dealerId: input.dealerId }, input.buyerId);
  if (!buyer.stripeCustomerId)
    throw new ConflictError('The buyer has no Stripe customer yet; create it again.');
  if (buyer.deletedAt)
    throw new ValidationError('The buyer was deleted.', [{ field: 'body.customerId', message: 'deleted' }]);
  const now = new Date(deps.clock.now());

  let row: InvoiceRow | undefined;
  if (input.requestKey) {
    [row] = await deps.db.select().from(invoices).where(eq(invoices.requestKey, input.requestKey));
  }
  if (!row) {
    [row] = await deps.db
      .insert(invoices)
      .values({
        id: newId('inv'),
        dealerId: input.dealerId,
        buyerId: buyer.id,
        vehicleId: input.vehicleId,
        kind: input.kind,
        description: input.description,
        amount: input.amount,
        daysUntilDue: input.daysUntilDue,
        paymentMethodTypes: paymentMethodTypesFor(input.amount),
        status: 'creating',
        amountRemaining: input.amount,
        financingPlanId: input.financingPlanId ?? null,
        requestKey: input.requestKey ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: invoices.requestKey })
      .returning();
    if (!row && input.requestKey) {
      [row] = await deps.db.select().from(invoices).where(eq(invoices.requestKey, input.requestKey));
    }
  }
  if (!row) throw new Error('invoice row vanished');
  if (row.status !== 'creating' && row.status !== 'draft') return row;

  const key = (effect: string) => ({ idempotencyKey: stripeIdempotencyKey('invoice', row.id, effect) });
  let stripeId = row.stripeInvoiceId;
  if (!stripeId) {
    const created = await deps.stripe.invoices
      .create(stripeInvoiceParams(row, buyer.stripeCustomerId, buyer.type), key('create'))
      .catch(wrapStripeError);
    stripeId = created.id;
    await deps.db
      .update(invoices)
      .set({ stripeInvoiceId: stripeId, status: 'draft', updatedAt: now })
      .where(eq(invoices.id, row.id));
  }
  const current = await deps.stripe.invoices.retrieve(stripeId).catch(wrapStripeError);
  if (current.status === 'draft') {
    if (current.total === 0) {
      await deps.stripe.invoiceItems
        .create(
          {
            customer: buyer.stripeCustomerId,
            invoice: stripeId,
            amount: row.amount,
            currency: 'eur',
            description: `${KIND_LABEL[row.kind]} – ${row.description}`,
            metadata: { moreloInvoiceId: row.id, vehicleId: row.vehicleId },
          },
          key('item'),
        )
        .catch(wrapStripeError);
    }
  }
  const sent =
    current.status === 'draft'
      ? await deps.stripe.invoices.sendInvoice(stripeId, {}, key('send')).catch(wrapStripeError)
      : current;
  // A webhook may already have moved the row further (a €0 invoice is paid at once): only step out of creation.
  await deps.db
    .update(invoices)
    .set({ ...stripeStateOf(sent), updatedAt: now })
    .where(and(eq(invoices.id, row.id), inArray(invoices.status, ['creating', 'draft'])));
  const [updated] = await deps.db.select().from(invoices).where(eq(invoices.id, row.id));
  await deps.cache.invalidateTags([
    ...collectionTags(INVOICES, row.dealerId),
    tags.object(BUYERS, row.buyerId),
    tags.vehicle(row.dealerId, row.vehicleId),
  ]);
  return updated ?? row;
}

/** POST /api/payments/invoices: a down payment, remainder or other invoice for one of the caller's buyers. */
export async function createInvoice(
  deps: ServiceDeps,
  scope: Scope,
  input: CreateInvoiceInput,
  idempotencyKey: string | undefined,
): Promise<InvoiceView> {
  const buyer = await getBuyerRow(deps, scope, input.customerId).catch((err) => {
    if (err instanceof NotFoundError) {
      throw new ValidationError('Unknown customer.', [
        { field: 'body.customerId', message: 'no such customer' },
      ]);
    }
    throw err;
  });
  const row = await issueInvoice(deps, {
    dealerId: buyer.dealerId,
    buyerId: buyer.id,
    vehicleId: input.vehicleId,
    kind: input.kind,
    amount: input.amount,
    description: input.description,
    daysUntilDue: input.daysUntilDue,
    requestKey: idempotencyKey ?? null,
  });
  return toInvoiceView(row);
}

/** A buyer's invoices, newest first (for the buyer detail view). */
export async function invoicesOfBuyer(deps: ServiceDeps, buyerId: string): Promise<InvoiceView[]> {
  const rows = await deps.db
    .select()
    .from(invoices)
    .where(eq(invoices.buyerId, buyerId))
    .orderBy(desc(invoices.createdAt));
  return rows.map(toInvoiceView);
}

/** One invoice of the caller. */
export async function getInvoiceRow(deps: ServiceDeps, scope: Scope, id: string): Promise<InvoiceRow> {
  const [row] = await withTenant(deps.db, scope, (db) =>
    db
      .select()
      .from(invoices)
      .where(and(eq(invoices.id, id), tenantFilter(scope, invoices.dealerId))),
  );
  if (!row) throw new NotFoundError('Invoice', id);
  return row;
}

/** An invoice still being created after this long was abandoned (a crash or a Stripe failure mid-way). */
export const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/**
 * Clock job: invoices whose creation stopped half-way (a Stripe outage, a crash) and were not retried within an
 * hour are closed — a Stripe draft is deleted (it was never sent, so the buyer never saw it), our row is voided —
 * so nothing half-created stays unaccounted. A later retry with the same Idempotency-Key gets the void invoice.
 */
export async function sweepAbandonedInvoices(deps: ServiceDeps): Promise<number> {
  const cutoff = new Date(deps.clock.now() - ABANDONED_AFTER_MS);
  const stale = await deps.db
    .select()
    .from(invoices)
    .where(and(inArray(invoices.status, ['creating', 'draft']), lt(invoices.updatedAt, cutoff)));
  for (const row of stale) {
    if (row.stripeInvoiceId) {
      const atStripe = await deps.stripe.invoices.retrieve(row.stripeInvoiceId).catch(wrapStripeError);
      // Sent after all (the last step succeeded, the row update did not): leave it to the invoice events.
      if (atStripe.status !== 'draft') continue;
      await deps.stripe.invoices.del(row.stripeInvoiceId).catch(wrapStripeError);
    }
    await deps.db
      .update(invoices)
      .set({ status: 'void', amountRemaining: 0, updatedAt: new Date(deps.clock.now()) })
      .where(and(eq(invoices.id, row.id), inArray(invoices.status, ['creating', 'draft'])));
    deps.log.warn({ invoiceId: row.id }, 'abandoned invoice creation closed');
  }
  return stale.length;
}
