/**
 * Stripe events that change a dunning case at once instead of waiting for the next run: payment,
 * void and write-off close it; a failed or returned payment opens it (with the SEPA return reason);
 * a dispute stops it. Merge this table after the invoices' one, so our invoice row is already at
 * Stripe's state when these run (`mergeHandlerTables(…, invoiceEventHandlers, dunningEventHandlers)`).
 */
import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { buyers } from '../customers/schema.ts';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import { berlinDate, daysBetween } from '../platform/dates.ts';
import { formatEuro } from '../platform/money.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';
import { type CaseRow, dunningAudit, dunningCases } from './schema.ts';
import { reclaimReason } from './sepa-returns.ts';
import {
  audit,
  caseTags,
  closeCaseOfInvoice,
  closeReclaimPaid,
  isoReturnReason,
  recordPaymentFailure,
  recordReclaim,
  setDisputed,
  UNAPPLIED_TRANSFER_HOLD_DAYS,
  updateCase,
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

/** What Stripe tells about a failed payment of an invoice. */
interface PaymentFailure {
  /** The SEPA return reason (sepa-returns.ts), null when Stripe's code has none. */
  reasonCode: string | null;
  /** Stripe's own failure code, as reported. */
  failureCode: string | null;
  sepa: boolean;
  /** The payment method that was debited (to stop further debits after MD06/MD01). */
  paymentMethod: string | null;
  /** The subscription a financing instalment belongs to, as Stripe links it. */
  subscription: string | null;
  customer: string | null;
}

const UNKNOWN_FAILURE: PaymentFailure = {
  reasonCode: null,
  failureCode: null,
  sepa: false,
  paymentMethod: null,
  subscription: null,
  customer: null,
};

/**
 * Why a payment of an invoice failed, as far as Stripe tells. The invoice is re-fetched with its
 * payments: Stripe's invoice events do not carry `payments` (it is includable only), so the event
 * alone would never name the PaymentIntent, and the failed attempt is the invoice's newest payment.
 */
async function failureOf(ctx: HandlerContext, hinted: Stripe.Invoice): Promise<PaymentFailure> {
  let invoice: Stripe.Invoice;
  try {
    invoice = hinted.payments
      ? hinted
      : await ctx.deps.stripe.invoices.retrieve(hinted.id ?? '', { expand: ['payments'] });
  } catch (err) {
    ctx.deps.log.warn({ err, invoice: hinted.id }, 'dunning: could not read the failed invoice');
    return UNKNOWN_FAILURE;
  }
  const subscription = invoice.parent?.subscription_details?.subscription ?? null;
  const base = {
    ...UNKNOWN_FAILURE,
    subscription: typeof subscription === 'string' ? subscription : (subscription?.id ?? null),
    customer: typeof invoice.customer === 'string' ? invoice.customer : (invoice.customer?.id ?? null),
  };
  const payments = invoice.payments?.data ?? [];
  const newest = payments.find((p) => p.is_default) ?? payments[0];
  const pi = newest?.payment?.payment_intent;
  if (!pi) return base;
  const id = typeof pi === 'string' ? pi : pi.id;
  try {
    const intent = await ctx.deps.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
    const error = intent.last_payment_error;
    const failureCode = charge?.failure_code ?? error?.decline_code ?? error?.code ?? null;
    const reasonCode =
      isoReturnReason(charge?.failure_code) ??
      isoReturnReason(error?.decline_code) ??
      isoReturnReason(error?.code) ??
      null;
    const sepa =
      charge?.payment_method_details?.type === 'sepa_debit' || error?.payment_method?.type === 'sepa_debit';
    const method = charge?.payment_method ?? error?.payment_method?.id ?? null;
    return { ...base, reasonCode, failureCode, sepa, paymentMethod: method };
  } catch (err) {
    ctx.deps.log.warn({ err, paymentIntent: id }, 'dunning: could not read why the payment failed');
    return base;
  }
}

async function onPaymentFailed(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const hinted = event.data.object as Stripe.Invoice;
  const row = await ourInvoice(ctx, hinted);
  if (!row) return;
  const failure = await failureOf(ctx, hinted);
  const opened = await recordPaymentFailure(ctx.tx, ctx.deps, {
    invoice: row,
    reasonCode: failure.reasonCode,
    failureCode: failure.failureCode,
    returned: failure.sepa,
    failedOn: berlinDate(event.created * 1000),
  });
  if (!opened) return;
  if (!opened.mayRedebit && failure.sepa && row.financingPlanId) {
    await stopRedebit(ctx, opened, failure);
  }
  ctx.invalidate(caseTags(opened));
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

/**
 * After MD06 (the buyer reclaimed a debit) or MD01 (no mandate) the mandate must not be debited again
 * (GERMAN-LAW.md). Left alone, Stripe would: its retries of the instalment and every renewal charge the
 * subscription's default payment method, else the customer's. So the debited SEPA method is taken off
 * both and detached from the customer (a detached method cannot be charged again). Stripe's retries then
 * fail without a debit, and the letters ask for a transfer or card. Stripe first, audit last, once per
 * payment method: a crash in between re-runs the event, whose Stripe calls replay by idempotency key.
 */
async function stopRedebit(ctx: HandlerContext, c: CaseRow, failure: PaymentFailure): Promise<void> {
  const pm = failure.paymentMethod;
  if (!pm) return;
  const earlier = await ctx.tx
    .select({ details: dunningAudit.details })
    .from(dunningAudit)
    .where(and(eq(dunningAudit.caseId, c.id), eq(dunningAudit.action, 'redebit_blocked')));
  if (earlier.some((e) => e.details?.paymentMethod === pm)) return;
  const { stripe } = ctx.deps;
  const key = (effect: string) => ({
    idempotencyKey: stripeIdempotencyKey('dunning-case', c.id, `no-redebit:${pm}:${effect}`),
  });
  const cleared: string[] = [];
  try {
    if (failure.subscription) {
      const sub = await stripe.subscriptions.retrieve(failure.subscription);
      if (idOf(sub.default_payment_method) === pm) {
        await stripe.subscriptions.update(sub.id, { default_payment_method: '' }, key('subscription'));
        cleared.push(`subscription:${sub.id}`);
      }
    }
    if (failure.customer) {
      const customer = await stripe.customers.retrieve(failure.customer);
      if (!customer.deleted && idOf(customer.invoice_settings?.default_payment_method) === pm) {
        await stripe.customers.update(
          customer.id,
          { invoice_settings: { default_payment_method: '' } },
          key('customer'),
        );
        cleared.push(`customer:${customer.id}`);
      }
    }
    const method = await stripe.paymentMethods.retrieve(pm);
    const detached = method.customer !== null;
    if (detached) await stripe.paymentMethods.detach(pm, {}, key('detach'));
    const now = new Date(ctx.deps.clock.now());
    await audit(
      ctx.tx,
      {
        caseId: c.id,
        buyerId: c.buyerId,
        dealerId: c.dealerId,
        action: 'redebit_blocked',
        actor: 'system',
        reason: `Keine erneute Lastschrift nach ${c.returnReasonCode}: Zahlungsmittel bei Stripe entfernt`,
        details: { paymentMethod: pm, subscription: failure.subscription, cleared, detached },
      },
      now,
    );
  } catch (err) {
    // Failing the event makes the inbox retry it: the block must happen before Stripe's next retry.
    throw wrapStripeError(err);
  }
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

/** The debit behind a dispute when it was a SEPA Direct Debit (re-fetched: the event is a hint). */
async function sepaDebitOf(ctx: HandlerContext, dispute: Stripe.Dispute): Promise<Stripe.Charge | undefined> {
  const chargeId = idOf(dispute.charge);
  if (!chargeId) return undefined;
  const charge = await ctx.deps.stripe.charges.retrieve(chargeId).catch(wrapStripeError);
  return charge.payment_method_details?.type === 'sepa_debit' ? charge : undefined;
}

/**
 * The buyer reclaimed a settled SEPA debit (§ 675x (4) BGB): within 8 weeks of the debit MD06, later MD01
 * (`reclaimReason`). The invoice stays paid at Stripe; the case opens on the reclaimed amount.
 */
async function onReclaim(
  ctx: HandlerContext,
  event: Stripe.Event,
  dispute: Stripe.Dispute,
  row: InvoiceRow,
  debit: Stripe.Charge,
): Promise<void> {
  const debitedOn = berlinDate(debit.created * 1000);
  const reclaimedOn = berlinDate((dispute.created || event.created) * 1000);
  const daysSinceDebit = daysBetween(debitedOn, reclaimedOn);
  const opened = await recordReclaim(ctx.tx, ctx.deps, {
    invoice: row,
    amount: dispute.amount,
    disputeId: dispute.id,
    reasonCode: reclaimReason(daysSinceDebit),
    stripeReason: dispute.reason ?? null,
    reclaimedOn,
    daysSinceDebit,
  });
  if (!opened) return;
  // A reclaimed instalment's mandate must not be debited again either (MD06): the same block as after a return.
  if (row.financingPlanId && row.stripeInvoiceId) {
    const invoice = await ctx.deps.stripe.invoices.retrieve(row.stripeInvoiceId).catch(wrapStripeError);
    const subscription = invoice.parent?.subscription_details?.subscription ?? null;
    await stopRedebit(ctx, opened, {
      ...UNKNOWN_FAILURE,
      sepa: true,
      reasonCode: opened.returnReasonCode,
      paymentMethod: idOf(debit.payment_method),
      subscription: typeof subscription === 'string' ? subscription : (subscription?.id ?? null),
      customer: idOf(debit.customer),
    });
  }
  ctx.invalidate(caseTags(opened));
}

async function onDispute(ctx: HandlerContext, event: Stripe.Event, disputed: boolean): Promise<void> {
  const dispute = event.data.object as Stripe.Dispute;
  const pi =
    typeof dispute.payment_intent === 'string'
      ? dispute.payment_intent
      : (dispute.payment_intent?.id ?? null);
  const row = await invoiceOfPayment(ctx, pi);
  if (!row) return;
  const debit = await sepaDebitOf(ctx, dispute);
  if (debit) {
    // A reclaimed SEPA debit is not a contested claim but money owed again: the claim re-opens.
    if (disputed) await onReclaim(ctx, event, dispute, row, debit);
    return;
  }
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
  if (c.reclaimedAmount !== null) {
    // The link asked for the reclaimed amount of a paid invoice: paying it settles the case, not the invoice.
    const closed = await closeReclaimPaid(ctx.tx, ctx.deps, c.id, {
      amount: session.amount_total ?? 0,
      checkoutSessionId: session.id,
      paymentIntentId: idOf(session.payment_intent),
    });
    if (closed) ctx.invalidate(caseTags(closed));
    return;
  }
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.id, c.invoiceId));
  if (!row?.stripeInvoiceId || row.status !== 'open') return;
  await ctx.deps.stripe.invoices.pay(
    row.stripeInvoiceId,
    { paid_out_of_band: true },
    { idempotencyKey: stripeIdempotencyKey('dunning-case', c.id, `paid-by-link:${session.id}`) },
  );
}

/**
 * The buyer's unmatched bank-transfer money changed (the customers' handler, merged before this table, has
 * just re-fetched it): each open case of the buyer holds its letters while there is some, and goes on once
 * the money is matched to an invoice or sent back. Each change is in an open case's audit trail. Closed cases
 * are kept in step too (without audit), so one that re-opens (a returned debit) starts from the current state.
 */
async function onCashBalance(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const customer = (event.data.object as { customer?: unknown }).customer;
  if (typeof customer !== 'string') return;
  const [buyer] = await ctx.tx.select().from(buyers).where(eq(buyers.stripeCustomerId, customer));
  if (!buyer) return;
  const amount = buyer.unappliedTransferAmount;
  const cases = await ctx.tx
    .select()
    .from(dunningCases)
    .where(eq(dunningCases.buyerId, buyer.id))
    .for('update');
  const now = new Date(ctx.deps.clock.now());
  for (const c of cases) {
    if (
      c.buyerUnappliedTransfer === amount &&
      c.buyerUnappliedTransferSince === buyer.unappliedTransferSince
    ) {
      continue;
    }
    const row = await updateCase(
      ctx.tx,
      c,
      { buyerUnappliedTransfer: amount, buyerUnappliedTransferSince: buyer.unappliedTransferSince },
      now,
    );
    ctx.invalidate(caseTags(row));
    if (c.stage === 'closed') continue;
    await audit(
      ctx.tx,
      {
        caseId: c.id,
        buyerId: c.buyerId,
        dealerId: c.dealerId,
        action: amount > 0 ? 'held_unapplied_transfer' : 'released_unapplied_transfer',
        actor: 'system',
        reason:
          amount > 0
            ? `Überweisung über ${formatEuro(amount)} eingegangen, keiner Rechnung zugeordnet: bis zu ${UNAPPLIED_TRANSFER_HOLD_DAYS} Tage keine Mahnung, damit sie zugeordnet oder erstattet werden kann`
            : 'Überweisung zugeordnet oder erstattet',
        details: { unappliedTransfer: amount },
      },
      now,
    );
  }
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
  'cash_balance.funds_available': onCashBalance,
  'customer_cash_balance_transaction.created': onCashBalance,
};
