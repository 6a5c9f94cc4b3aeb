import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { BUYERS } from '../customers/service.ts';
import { recordLedgerFact, recordPayment } from '../ledger/record.ts';
import { ledgerEntries } from '../ledger/schema.ts';
import { collectionTags, TREASURY_TAG, tags } from '../platform/tenancy.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';
import { type InvoiceRow, type InvoiceStatus, invoices } from './schema.ts';
import { INVOICES, stripeStateOf } from './service.ts';

/** How far along an invoice is; an event may only move it to an equal or later rank. */
const RANK: Record<InvoiceStatus, number> = {
  creating: 0,
  draft: 1,
  open: 2,
  uncollectible: 3,
  paid: 4,
  void: 4,
};

/** Whether moving from one status to another goes forward (paid and void are final). */
export function movesForward(from: InvoiceStatus, to: InvoiceStatus): boolean {
  if (from === 'paid' || from === 'void') return from === to;
  return RANK[to] >= RANK[from];
}

/** Our row for a Stripe invoice, by id or by the metadata we put on it. */
async function findRow(ctx: HandlerContext, invoice: Stripe.Invoice): Promise<InvoiceRow | undefined> {
  // Locked: the payment handlers lock the same row, so two events of one invoice never record its payment twice.
  const [byId] = await ctx.tx
    .select()
    .from(invoices)
    .where(eq(invoices.stripeInvoiceId, invoice.id))
    .for('update');
  if (byId) return byId;
  const ours = invoice.metadata?.moreloInvoiceId;
  if (!ours) return undefined;
  const [byMeta] = await ctx.tx.select().from(invoices).where(eq(invoices.id, ours)).for('update');
  return byMeta;
}

/** Invalidates everything that shows this invoice. */
function invalidateFor(ctx: HandlerContext, row: InvoiceRow): void {
  ctx.invalidate([
    ...collectionTags(INVOICES, row.dealerId),
    tags.object(INVOICES, row.id),
    tags.object(BUYERS, row.buyerId),
    tags.vehicle(row.dealerId, row.vehicleId),
    TREASURY_TAG,
    ...(row.financingPlanId ? [tags.object('financing', row.financingPlanId)] : []),
  ]);
}

/**
 * Applies any invoice event. The event is a hint: the invoice is re-fetched, so the row ends at Stripe's current
 * state whatever order events arrive in, and a status never moves backwards (paid never returns to open).
 */
export async function syncInvoice(ctx: HandlerContext, event: Stripe.Event): Promise<InvoiceRow | undefined> {
  const hinted = event.data.object as Stripe.Invoice;
  const row = await findRow(ctx, hinted);
  if (!row) {
    ctx.deps.log.info(
      { eventId: event.id, invoice: hinted.id },
      'event for an invoice we did not issue ignored',
    );
    return undefined;
  }
  const current = await ctx.deps.stripe.invoices.retrieve(hinted.id);
  const next = stripeStateOf(current);
  const status = next.status ?? row.status;
  const now = new Date(ctx.deps.clock.now());
  const forward = movesForward(row.status, status);
  const [updated] = await ctx.tx
    .update(invoices)
    .set({
      // Stripe sets no due date on automatically charged invoices (instalments): keep the one we recorded.
      ...(forward ? { ...next, dueDate: next.dueDate ?? row.dueDate } : {}),
      stripeInvoiceId: current.id,
      amountPaid: Math.max(row.amountPaid, current.amount_paid),
      amountRemaining: forward ? current.amount_remaining : row.amountRemaining,
      paymentProcessing: status === 'open' ? row.paymentProcessing : false,
      stripeSyncedAt: Math.max(row.stripeSyncedAt, event.created),
      paidAt: status === 'paid' && forward ? (row.paidAt ?? now) : row.paidAt,
      updatedAt: now,
    })
    .where(eq(invoices.id, row.id))
    .returning();
  const after = updated ?? row;
  if (after.status === 'paid' && current.amount_paid > 0)
    await recordInvoicePaid(ctx, after, current, event, now);
  invalidateFor(ctx, after);
  return after;
}

/**
 * The ledger side of a paid invoice. The PaymentIntents Stripe records as having paid it are the payments (an
 * earlier failed attempt on the same PaymentIntent becomes settled; another PaymentIntent that failed stays failed).
 * Paid without one (out of band, bank transfer from the cash balance): the invoice itself is the payment's source.
 */
async function recordInvoicePaid(
  ctx: HandlerContext,
  row: InvoiceRow,
  invoice: Stripe.Invoice,
  event: Stripe.Event,
  now: Date,
): Promise<void> {
  const paidBy: { paymentIntent: string; amount: number }[] = [];
  for await (const p of ctx.deps.stripe.invoicePayments.list({
    invoice: invoice.id,
    status: 'paid',
    limit: 100,
  })) {
    const pi = p.payment.payment_intent;
    if (pi) paidBy.push({ paymentIntent: typeof pi === 'string' ? pi : pi.id, amount: p.amount_paid ?? 0 });
  }
  const occurredAt = new Date((invoice.status_transitions?.paid_at ?? event.created) * 1000);
  const base = {
    dealerId: row.dealerId,
    vehicleId: row.vehicleId,
    buyerId: row.buyerId,
    invoiceId: row.id,
    kind: row.kind,
  };
  if (paidBy.length > 0) {
    for (const p of paidBy) {
      await recordPayment(
        ctx.tx,
        {
          ...base,
          amount: p.amount,
          settlement: 'settled',
          sourceId: p.paymentIntent,
          effect: 'payment',
          occurredAt,
        },
        now,
      );
    }
    return;
  }
  const [settledPayment] = await ctx.tx
    .select({ id: ledgerEntries.id })
    .from(ledgerEntries)
    .where(
      and(
        eq(ledgerEntries.invoiceId, row.id),
        eq(ledgerEntries.effect, 'payment'),
        eq(ledgerEntries.settlement, 'settled'),
      ),
    );
  if (settledPayment) return;
  await recordLedgerFact(
    ctx.tx,
    {
      ...base,
      amount: invoice.amount_paid,
      settlement: 'settled',
      sourceId: invoice.id,
      effect: 'paid',
      occurredAt,
    },
    now,
  );
}

/** Invoice events this capability applies. */
export const invoiceEventHandlers: HandlerTable = {
  'invoice.finalized': syncInvoice,
  'invoice.sent': syncInvoice,
  'invoice.updated': syncInvoice,
  'invoice.paid': syncInvoice,
  'invoice.payment_succeeded': syncInvoice,
  'invoice.payment_failed': syncInvoice,
  'invoice.voided': syncInvoice,
  'invoice.marked_uncollectible': syncInvoice,
};
