/**
 * Stripe events that change a dunning case at once instead of waiting for the next run: payment,
 * void and write-off close it; a failed or returned payment opens it (with the SEPA return reason);
 * a dispute stops it. Merge this table after the invoices' one, so our invoice row is already at
 * Stripe's state when these run (`mergeHandlerTables(…, invoiceEventHandlers, dunningEventHandlers)`).
 */
import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import { berlinDate } from '../platform/dates.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';
import { dunningCases } from './schema.ts';
import {
  caseTags,
  closeCaseOfInvoice,
  isoReturnReason,
  recordPaymentFailure,
  setDisputed,
} from './service.ts';

async function ourInvoice(ctx: HandlerContext, stripeInvoice: Pick<Stripe.Invoice, 'id' | 'metadata'>) {
  const [byId] = await ctx.tx
    .select()
    .from(invoices)
    .where(eq(invoices.stripeInvoiceId, stripeInvoice.id ?? ''));
  if (byId) return byId;
  const ours = stripeInvoice.metadata?.moreloInvoiceId;
  if (!ours) return undefined;
  const [byMeta] = await ctx.tx.select().from(invoices).where(eq(invoices.id, ours));
  return byMeta;
}

function closeOn(reason: string) {
  return async (ctx: HandlerContext, event: Stripe.Event) => {
    const row = await ourInvoice(ctx, event.data.object as Stripe.Invoice);
    if (!row) return;
    const closed = await closeCaseOfInvoice(ctx.tx, ctx.deps, row.id, reason);
    if (closed) ctx.invalidate(caseTags(closed));
  };
}

/** The reason a payment of an invoice failed, and whether it was a SEPA debit, as far as Stripe tells. */
async function failureOf(
  ctx: HandlerContext,
  invoice: Stripe.Invoice,
): Promise<{ code: string | null; sepa: boolean }> {
  const payments = invoice.payments?.data ?? [];
  const pi = payments.map((p) => p.payment?.payment_intent).find((x) => x);
  if (!pi) return { code: null, sepa: false };
  const id = typeof pi === 'string' ? pi : pi.id;
  try {
    const intent = await ctx.deps.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
    const error = intent.last_payment_error;
    const code =
      isoReturnReason(charge?.failure_code) ??
      isoReturnReason(error?.decline_code) ??
      isoReturnReason(error?.code) ??
      null;
    const sepa =
      charge?.payment_method_details?.type === 'sepa_debit' || error?.payment_method?.type === 'sepa_debit';
    return { code, sepa };
  } catch (err) {
    ctx.deps.log.warn({ err, paymentIntent: id }, 'dunning: could not read why the payment failed');
    return { code: null, sepa: false };
  }
}

async function onPaymentFailed(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const hinted = event.data.object as Stripe.Invoice;
  const row = await ourInvoice(ctx, hinted);
  if (!row) return;
  const failure = await failureOf(ctx, hinted);
  const opened = await recordPaymentFailure(ctx.tx, ctx.deps, {
    invoice: row,
    reasonCode: failure.code,
    returned: failure.sepa,
    failedOn: berlinDate(event.created * 1000),
  });
  if (opened) ctx.invalidate(caseTags(opened));
}

/** Our invoice behind a charge or PaymentIntent: through Stripe's invoice payments. */
async function invoiceOfPayment(
  ctx: HandlerContext,
  paymentIntent: string | null,
): Promise<InvoiceRow | undefined> {
  if (!paymentIntent) return undefined;
  try {
    const list = await ctx.deps.stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
      limit: 1,
    });
    const invoice = list.data[0]?.invoice;
    if (!invoice) return undefined;
    const id = typeof invoice === 'string' ? invoice : invoice.id;
    const [row] = await ctx.tx
      .select()
      .from(invoices)
      .where(eq(invoices.stripeInvoiceId, id ?? ''));
    return row;
  } catch (err) {
    ctx.deps.log.warn({ err, paymentIntent }, 'dunning: could not find the invoice of a disputed payment');
    return undefined;
  }
}

async function onDispute(ctx: HandlerContext, event: Stripe.Event, disputed: boolean): Promise<void> {
  const dispute = event.data.object as Stripe.Dispute;
  const pi =
    typeof dispute.payment_intent === 'string'
      ? dispute.payment_intent
      : (dispute.payment_intent?.id ?? null);
  const row = await invoiceOfPayment(ctx, pi);
  if (!row) return;
  const changed = await setDisputed(ctx.tx, ctx.deps, row.id, disputed, {
    disputeId: dispute.id,
    reason: dispute.reason,
    status: dispute.status,
  });
  if (changed) ctx.invalidate(caseTags(changed));
}

/**
 * A letter's Payment Link was paid (only invoices without a hosted page get one): the Stripe invoice is
 * marked paid out of band, so the claim is settled once and invoice.paid closes the case.
 */
async function onLinkPaid(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const session = event.data.object as Stripe.Checkout.Session;
  const caseId = session.metadata?.moreloDunningCaseId;
  if (!caseId || session.payment_status !== 'paid') return;
  const [c] = await ctx.tx.select().from(dunningCases).where(eq(dunningCases.id, caseId));
  if (!c) return;
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.id, c.invoiceId));
  if (!row?.stripeInvoiceId || row.status !== 'open') return;
  await ctx.deps.stripe.invoices.pay(
    row.stripeInvoiceId,
    { paid_out_of_band: true },
    { idempotencyKey: stripeIdempotencyKey('dunning-case', c.id, `paid-by-link:${session.id}`) },
  );
}

/** Event type → dunning handler. */
export const dunningEventHandlers: HandlerTable = {
  'invoice.paid': closeOn('paid'),
  'invoice.voided': closeOn('voided'),
  'invoice.marked_uncollectible': closeOn('uncollectible'),
  'invoice.payment_failed': onPaymentFailed,
  'charge.dispute.created': (ctx, event) => onDispute(ctx, event, true),
  'charge.dispute.closed': (ctx, event) => onDispute(ctx, event, false),
  'checkout.session.completed': onLinkPaid,
  'checkout.session.async_payment_succeeded': onLinkPaid,
};
