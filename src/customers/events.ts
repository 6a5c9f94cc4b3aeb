import { and, eq, lte } from 'drizzle-orm';
import type Stripe from 'stripe';
import { invoices } from '../invoices/schema.ts';
import { berlinDate } from '../platform/dates.ts';
import { collectionTags, tags } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';
import { buyers } from './schema.ts';
import { BUYERS } from './service.ts';

async function applyCustomer(ctx: HandlerContext, event: Stripe.Event, deleted: boolean): Promise<void> {
  const hinted = event.data.object as Stripe.Customer | Stripe.DeletedCustomer;
  const [row] = await ctx.tx.select().from(buyers).where(eq(buyers.stripeCustomerId, hinted.id));
  if (!row) {
    // Not one of ours (created in the dashboard, or another integration): acknowledge, do not apply.
    ctx.deps.log.info(
      { eventId: event.id, customer: hinted.id },
      'customer event for an unknown customer ignored',
    );
    return;
  }
  // Events arrive in any order: never apply one older than what we have. A same-second tie re-fetches, so
  // the row ends at Stripe's current state whichever of the two events is applied last.
  if (event.created < row.stripeSyncedAt) return;
  let current: Stripe.Customer | Stripe.DeletedCustomer = hinted;
  if (!deleted) current = await ctx.deps.stripe.customers.retrieve(hinted.id);
  const now = new Date(ctx.deps.clock.now());
  if (deleted || ('deleted' in current && current.deleted)) {
    await ctx.tx
      .update(buyers)
      .set({ deletedAt: row.deletedAt ?? now, stripeSyncedAt: event.created, updatedAt: now })
      .where(eq(buyers.id, row.id));
  } else {
    const c = current as Stripe.Customer;
    await ctx.tx
      .update(buyers)
      .set({
        name: c.name ?? row.name,
        email: c.email ?? row.email,
        phone: c.phone ?? null,
        address: c.address?.line1
          ? {
              line1: c.address.line1,
              ...(c.address.line2 ? { line2: c.address.line2 } : {}),
              ...(c.address.postal_code ? { postalCode: c.address.postal_code } : {}),
              ...(c.address.city ? { city: c.address.city } : {}),
              country: c.address.country ?? 'DE',
            }
          : row.address,
        stripeSyncedAt: event.created,
        updatedAt: now,
      })
      .where(and(eq(buyers.id, row.id), lte(buyers.stripeSyncedAt, event.created)));
  }
  ctx.invalidate([...collectionTags(BUYERS, row.dealerId), tags.object(BUYERS, row.id)]);
}

/**
 * A bank transfer reached the buyer's cash balance, or money left it: re-fetch the balance and keep what no
 * invoice took (Stripe applies a transfer only when it covers an open invoice in full). The buyer row is
 * locked first, so two events applied at once end with the later fetch.
 */
async function applyCashBalance(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const hinted = event.data.object as Stripe.CashBalance | Stripe.CustomerCashBalanceTransaction;
  const customerId = typeof hinted.customer === 'string' ? hinted.customer : null;
  if (!customerId) return;
  const [row] = await ctx.tx
    .select()
    .from(buyers)
    .where(eq(buyers.stripeCustomerId, customerId))
    .for('update');
  if (!row) {
    ctx.deps.log.info(
      { eventId: event.id, customer: customerId },
      'cash balance of an unknown customer ignored',
    );
    return;
  }
  const balance = await ctx.deps.stripe.customers.retrieveCashBalance(customerId).catch(wrapStripeError);
  const unapplied = balance.available?.eur ?? 0;
  if (unapplied === row.unappliedTransferAmount) return;
  // The day the money started waiting (the event's, so a replay after an outage does not restart the hold)
  // stays while some of it still waits.
  const since = unapplied > 0 ? (row.unappliedTransferSince ?? berlinDate(event.created * 1000)) : null;
  if (unapplied > 0) {
    ctx.deps.log.warn(
      { buyerId: row.id, unapplied },
      'a bank transfer waits in the cash balance unmatched: dunning holds its letters for this buyer',
    );
  }
  await ctx.tx
    .update(buyers)
    .set({
      unappliedTransferAmount: unapplied,
      unappliedTransferSince: since,
      updatedAt: new Date(ctx.deps.clock.now()),
    })
    .where(eq(buyers.id, row.id));
  // The vehicle accounts that show it: those with an open invoice of this buyer.
  const owedOn = await ctx.tx
    .selectDistinct({ vehicleId: invoices.vehicleId })
    .from(invoices)
    .where(and(eq(invoices.buyerId, row.id), eq(invoices.status, 'open')));
  ctx.invalidate([
    ...collectionTags(BUYERS, row.dealerId),
    tags.object(BUYERS, row.id),
    ...owedOn.map((v) => tags.vehicle(row.dealerId, v.vehicleId)),
  ]);
}

/** customer.updated / customer.deleted keep the buyer read model in step with Stripe; so do cash-balance events. */
export const customerEventHandlers: HandlerTable = {
  'customer.updated': (ctx, event) => applyCustomer(ctx, event, false),
  'customer.deleted': (ctx, event) => applyCustomer(ctx, event, true),
  'cash_balance.funds_available': applyCashBalance,
  'customer_cash_balance_transaction.created': applyCashBalance,
};
