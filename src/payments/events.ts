/**
 * Payment events (Checkout Sessions, PaymentIntents, refunds, disputes) → payment links, invoices and the ledger.
 * A payment is identified by its PaymentIntent, whichever event announces it, so `checkout.session.completed` and
 * `payment_intent.succeeded` for the same money are one ledger entry.
 */
import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { BUYERS } from '../customers/service.ts';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import { INVOICES } from '../invoices/service.ts';
import { type LedgerFact, recordLedgerFact, recordPayment } from '../ledger/record.ts';
import { type LedgerKind, ledgerEntries } from '../ledger/schema.ts';
import { type PaymentLinkRow, type PaymentLinkStatus, paymentLinks } from '../payment-links/schema.ts';
import { deactivateStripeLink, LINKS } from '../payment-links/service.ts';
import { collectionTags, TREASURY_TAG, tags } from '../platform/tenancy.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';

type Outcome = 'processing' | 'settled' | 'failed';

const LINK_RANK: Record<PaymentLinkStatus, number> = {
  creating: 0,
  active: 1,
  deactivated: 1,
  processing: 2,
  failed: 3,
  paid: 3,
};

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

async function linkBy(ctx: HandlerContext, stripeLinkId: string | null, ourId: string | undefined) {
  if (stripeLinkId) {
    const [row] = await ctx.tx
      .select()
      .from(paymentLinks)
      .where(eq(paymentLinks.stripePaymentLinkId, stripeLinkId));
    if (row) return row;
  }
  if (ourId) {
    const [row] = await ctx.tx.select().from(paymentLinks).where(eq(paymentLinks.id, ourId));
    return row;
  }
  return undefined;
}

/** The invoice a PaymentIntent pays, if it is one of ours (Stripe links them through invoice payments). */
async function invoiceOfPaymentIntent(
  ctx: HandlerContext,
  paymentIntentId: string,
): Promise<InvoiceRow | undefined> {
  const [known] = await ctx.tx
    .select({ invoiceId: ledgerEntries.invoiceId })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.sourceId, paymentIntentId));
  const invoiceId = known?.invoiceId ?? null;
  if (!invoiceId) {
    const payments = await ctx.deps.stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntentId },
      limit: 1,
    });
    const stripeInvoice = idOf(payments.data[0]?.invoice as string | { id: string } | undefined);
    if (!stripeInvoice) return undefined;
    const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.stripeInvoiceId, stripeInvoice));
    return row;
  }
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.id, invoiceId));
  return row;
}

/**
 * The invoice a dunning letter's Payment Link paid (metadata `moreloInvoiceId` + `moreloDunningCaseId`, set by
 * src/dunning/scheduler.ts): e.g. the reclaimed amount of a SEPA debit, booked once against that invoice.
 */
async function invoiceOfDunningLink(
  ctx: HandlerContext,
  pi: Stripe.PaymentIntent,
): Promise<InvoiceRow | undefined> {
  const invoiceId = pi.metadata?.moreloInvoiceId;
  if (!invoiceId || !pi.metadata?.moreloDunningCaseId) return undefined;
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.id, invoiceId));
  return row;
}

/** The kind of payment method actually used (sepa_debit, card, …), not the first one allowed. */
function methodOf(pi: Stripe.PaymentIntent): string | null {
  const pm = pi.payment_method;
  return pm && typeof pm === 'object' ? pm.type : (pi.payment_method_types[0] ?? null);
}

/** The ledger fact of a PaymentIntent's current outcome, for what it pays (a link or an invoice). */
function paymentFact(
  pi: Stripe.PaymentIntent,
  outcome: Outcome,
  owner: {
    dealerId: string;
    vehicleId: string;
    buyerId: string | null;
    invoiceId: string | null;
    kind: LedgerKind;
  },
): LedgerFact {
  return {
    dealerId: owner.dealerId,
    vehicleId: owner.vehicleId,
    buyerId: owner.buyerId,
    invoiceId: owner.invoiceId,
    kind: owner.kind,
    amount: pi.amount,
    settlement: outcome,
    paymentMethod: methodOf(pi),
    sourceId: pi.id,
    effect: 'payment',
    reasonCode: outcome === 'failed' ? failureReason(pi) : null,
    occurredAt: new Date(pi.created * 1000),
  };
}

/** Why a payment failed, as a SEPA reason or Stripe code (e.g. insufficient_funds). */
function failureReason(pi: Stripe.PaymentIntent): string | null {
  return pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? null;
}

async function applyToLink(
  ctx: HandlerContext,
  row: PaymentLinkRow,
  pi: Stripe.PaymentIntent,
  outcome: Outcome,
) {
  const now = new Date(ctx.deps.clock.now());
  const status: PaymentLinkStatus = outcome === 'settled' ? 'paid' : outcome;
  if (LINK_RANK[status] >= LINK_RANK[row.status] && row.status !== 'paid' && row.status !== 'failed') {
    await ctx.tx
      .update(paymentLinks)
      .set({ status, paymentIntentId: pi.id, updatedAt: now })
      .where(eq(paymentLinks.id, row.id));
  }
  await recordPayment(ctx.tx, paymentFact(pi, outcome, { ...row, invoiceId: null }), now);
  // A link pays once: after the first completed payment it takes no other.
  await deactivateStripeLink(ctx.deps, row);
  ctx.invalidate([
    ...collectionTags(LINKS, row.dealerId),
    tags.object(LINKS, row.id),
    tags.vehicle(row.dealerId, row.vehicleId),
    TREASURY_TAG,
    ...(row.buyerId ? [tags.object(BUYERS, row.buyerId)] : []),
  ]);
}

async function applyToInvoice(
  ctx: HandlerContext,
  found: InvoiceRow,
  pi: Stripe.PaymentIntent,
  outcome: Outcome,
) {
  const now = new Date(ctx.deps.clock.now());
  // Lock the invoice (as invoice events do), then look: if invoice.paid already recorded it, this is the same money.
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.id, found.id)).for('update');
  if (!row) return;
  const [paidEntry] = await ctx.tx
    .select({ id: ledgerEntries.id })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.invoiceId, row.id), eq(ledgerEntries.effect, 'paid')));
  if (paidEntry) return;
  if (row.status === 'open') {
    await ctx.tx
      .update(invoices)
      .set({ paymentProcessing: outcome === 'processing', updatedAt: now })
      .where(eq(invoices.id, row.id));
  }
  await recordPayment(ctx.tx, paymentFact(pi, outcome, { ...row, invoiceId: row.id }), now);
  ctx.invalidate([
    ...collectionTags(INVOICES, row.dealerId),
    tags.object(INVOICES, row.id),
    tags.object(BUYERS, row.buyerId),
    tags.vehicle(row.dealerId, row.vehicleId),
    TREASURY_TAG,
  ]);
}

/** Applies a PaymentIntent's state (re-fetched: events are hints) to the link or invoice it pays. */
async function applyPaymentIntent(ctx: HandlerContext, paymentIntentId: string): Promise<void> {
  const pi = await ctx.deps.stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['payment_method'] });
  const outcome: Outcome | null =
    pi.status === 'succeeded'
      ? 'settled'
      : pi.status === 'processing'
        ? 'processing'
        : pi.last_payment_error
          ? 'failed'
          : null;
  if (!outcome) return;
  const link = await linkBy(ctx, null, pi.metadata?.moreloLinkId);
  if (link) return applyToLink(ctx, link, pi, outcome);
  const dunned = await invoiceOfDunningLink(ctx, pi);
  if (dunned) return applyToInvoice(ctx, dunned, pi, outcome);
  const invoice = await invoiceOfPaymentIntent(ctx, pi.id);
  if (invoice) return applyToInvoice(ctx, invoice, pi, outcome);
  ctx.deps.log.info({ paymentIntent: pi.id }, 'payment for nothing of ours ignored');
}

async function onCheckoutSession(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const session = event.data.object as Stripe.Checkout.Session;
  if (session.mode !== 'payment') return;
  const link = await linkBy(ctx, idOf(session.payment_link), session.metadata?.moreloLinkId);
  const paymentIntent = idOf(session.payment_intent);
  if (!link || !paymentIntent) return;
  await ctx.tx
    .update(paymentLinks)
    .set({ checkoutSessionId: session.id })
    .where(eq(paymentLinks.id, link.id));
  await applyPaymentIntent(ctx, paymentIntent);
}

async function onPaymentIntent(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  await applyPaymentIntent(ctx, (event.data.object as Stripe.PaymentIntent).id);
}

/** Refunds are negative entries, one per refund. */
async function onChargeRefunded(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const charge = event.data.object as Stripe.Charge;
  const paymentIntent = idOf(charge.payment_intent);
  if (!paymentIntent) return;
  const [payment] = await ctx.tx
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.sourceId, paymentIntent));
  if (!payment) return;
  const refunds = await ctx.deps.stripe.refunds.list({ charge: charge.id, limit: 100 });
  const now = new Date(ctx.deps.clock.now());
  for (const refund of refunds.data) {
    if (refund.status === 'failed' || refund.status === 'canceled') continue;
    await recordLedgerFact(
      ctx.tx,
      {
        dealerId: payment.dealerId,
        vehicleId: payment.vehicleId,
        buyerId: payment.buyerId,
        invoiceId: payment.invoiceId,
        kind: 'refund',
        amount: -refund.amount,
        settlement: 'settled',
        paymentMethod: payment.paymentMethod,
        sourceId: refund.id,
        effect: 'refund',
        reasonCode: refund.reason,
        occurredAt: new Date(refund.created * 1000),
      },
      now,
    );
  }
  ctx.invalidate([tags.vehicle(payment.dealerId, payment.vehicleId), TREASURY_TAG]);
}

/** A dispute (for SEPA: the buyer reclaimed the debit) takes the money back until it is won. */
async function onDisputeCreated(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const dispute = event.data.object as Stripe.Dispute;
  const paymentIntent = idOf(dispute.payment_intent);
  if (!paymentIntent) return;
  const [payment] = await ctx.tx
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.sourceId, paymentIntent));
  if (!payment) return;
  await recordLedgerFact(
    ctx.tx,
    {
      dealerId: payment.dealerId,
      vehicleId: payment.vehicleId,
      buyerId: payment.buyerId,
      invoiceId: payment.invoiceId,
      kind: payment.paymentMethod === 'sepa_debit' ? 'returned_debit' : 'dispute',
      amount: -dispute.amount,
      settlement: 'settled',
      paymentMethod: payment.paymentMethod,
      sourceId: dispute.id,
      effect: 'dispute',
      reasonCode: dispute.reason,
      occurredAt: new Date(dispute.created * 1000),
    },
    new Date(ctx.deps.clock.now()),
  );
  ctx.invalidate([tags.vehicle(payment.dealerId, payment.vehicleId), TREASURY_TAG]);
}

/** The handler table of payments. */
export const paymentEventHandlers: HandlerTable = {
  'checkout.session.completed': onCheckoutSession,
  'checkout.session.async_payment_succeeded': onCheckoutSession,
  'checkout.session.async_payment_failed': onCheckoutSession,
  'payment_intent.processing': onPaymentIntent,
  'payment_intent.succeeded': onPaymentIntent,
  'payment_intent.payment_failed': onPaymentIntent,
  'charge.refunded': onChargeRefunded,
  'charge.dispute.created': onDisputeCreated,
};
