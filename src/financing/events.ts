/**
 * Stripe events of financing plans. Subscription invoices are recorded as our invoices (kind 'instalment',
 * financing_plan_id set) when first seen, so invoices/events.ts syncs them and the ledger records them by the
 * same path as every other invoice. Register this table AFTER invoiceEventHandlers (mergeHandlerTables runs
 * handlers of one type in order): plan statuses are judged from invoice rows that syncInvoice has updated.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type Stripe from 'stripe';
import { invoiceEventHandlers, syncInvoice } from '../invoices/events.ts';
import { invoices } from '../invoices/schema.ts';
import { addDays, type BusinessDate, berlinDate, compareDates } from '../platform/dates.ts';
import { newId } from '../platform/ids.ts';
import type { HandlerContext, HandlerTable } from '../webhooks/handlers.ts';
import { instalmentDueDate, instalmentNumberOf } from './plan-terms.ts';
import { financingInstalments, financingPlans, hasEnded, type PlanRow } from './schema.ts';
import {
  buyerOfPlan,
  createSetupSession,
  findPlan,
  movePlanStatus,
  planIdempotency,
  planTags,
  reloadPlan,
  scheduleCollection,
  settlePlan,
} from './service.ts';

const idOf = (value: string | { id: string } | null | undefined) =>
  typeof value === 'string' ? value : (value?.id ?? null);

/** Records the subscription's id on the plan the first time it is seen. */
async function linkSubscription(ctx: HandlerContext, plan: PlanRow, subscription: string | null) {
  if (!subscription || plan.stripeSubscriptionId) return plan;
  await ctx.tx
    .update(financingPlans)
    .set({ stripeSubscriptionId: subscription, updatedAt: new Date(ctx.deps.clock.now()) })
    .where(and(eq(financingPlans.id, plan.id), isNull(financingPlans.stripeSubscriptionId)));
  return reloadPlan(ctx.tx, plan.id);
}

/**
 * A subscription invoice of one of our plans: inserts its `invoices` row (kind 'instalment') and which
 * instalment it is — from the first day of the period it bills — when first seen, then syncs it.
 */
async function recordInstalment(
  ctx: HandlerContext,
  event: Stripe.Event,
  plan: PlanRow,
  hinted: Stripe.Invoice,
): Promise<void> {
  const invoice = await ctx.deps.stripe.invoices.retrieve(hinted.id, { expand: ['payments'] });
  if (invoice.amount_due <= 0) return; // nothing to collect: not an instalment
  const now = new Date(ctx.deps.clock.now());
  const [known] = await ctx.tx.select().from(invoices).where(eq(invoices.stripeInvoiceId, invoice.id));
  let inserted = false;
  if (!known) {
    const periodStart = invoice.lines?.data[0]?.period?.start ?? invoice.created;
    const n = instalmentNumberOf(plan.payments, berlinDate(periodStart * 1000));
    const instalments = plan.payments.filter((p) => p.kind === 'instalment').length;
    const planned = plan.payments.find((p) => p.kind === 'instalment' && p.n === n);
    const id = newId('inv');
    const rows = await ctx.tx
      .insert(invoices)
      .values({
        id,
        dealerId: plan.dealerId,
        buyerId: plan.buyerId,
        vehicleId: plan.vehicleId,
        kind: 'instalment',
        description: `Finanzierungsrate ${n}/${instalments}, MORELO ${plan.vehicleModel}, Fahrzeug ${plan.vehicleId}`,
        amount: invoice.amount_due,
        daysUntilDue: 0,
        paymentMethodTypes: plan.paymentMethodTypes,
        status: 'draft',
        stripeInvoiceId: invoice.id,
        // Collected automatically, so Stripe sets no due date: the instalment's own is the one that counts.
        dueDate: planned?.dueDate ?? instalmentDueDate(plan.startDate as BusinessDate, n),
        amountRemaining: invoice.amount_due,
        financingPlanId: plan.id,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: invoices.stripeInvoiceId })
      .returning({ id: invoices.id });
    if (rows.length > 0) {
      await ctx.tx.insert(financingInstalments).values({
        invoiceId: id,
        planId: plan.id,
        n,
        periodStart: berlinDate(periodStart * 1000),
        createdAt: now,
      });
      inserted = true;
    }
  }
  if (event.type === 'invoice.payment_failed') {
    const [row] = await ctx.tx
      .select({ id: invoices.id })
      .from(invoices)
      .where(eq(invoices.stripeInvoiceId, invoice.id));
    if (row) {
      await ctx.tx
        .update(financingInstalments)
        .set({ lastFailedAt: now })
        .where(eq(financingInstalments.invoiceId, row.id));
    }
  }
  // invoices/events.ts syncs the types it handles itself (it runs first); the rest, and the first sight, here.
  if (inserted || !(event.type in invoiceEventHandlers)) await syncInvoice(ctx, event);
  await markProcessing(ctx, invoice);
}

/**
 * A SEPA debit of an open instalment is on its way: the payments module flags that on payment_intent events,
 * but only for a row that existed and was open then — events of one second arrive in any order, and the
 * instalment's row is made here. So look at Stripe whenever an open, attempted instalment is not flagged.
 */
async function markProcessing(ctx: HandlerContext, invoice: Stripe.Invoice): Promise<void> {
  if (invoice.status !== 'open' || !invoice.attempted) return;
  const [row] = await ctx.tx.select().from(invoices).where(eq(invoices.stripeInvoiceId, invoice.id));
  if (row?.status !== 'open' || row.paymentProcessing) return;
  for (const payment of invoice.payments?.data ?? []) {
    const intent = idOf(payment.payment.payment_intent);
    if (payment.status !== 'open' || !intent) continue;
    const pi = await ctx.deps.stripe.paymentIntents.retrieve(intent);
    if (pi.status !== 'processing') continue;
    await ctx.tx
      .update(invoices)
      .set({ paymentProcessing: true, updatedAt: new Date(ctx.deps.clock.now()) })
      .where(and(eq(invoices.id, row.id), eq(invoices.status, 'open')));
    return;
  }
}

/** Any invoice event: instalments of our plans are recorded; a paid balloon or payoff may end the plan. */
async function onInvoice(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const hinted = event.data.object as Stripe.Invoice;
  const details = hinted.parent?.subscription_details;
  let plan: PlanRow | undefined;
  if (details) {
    const subscription = idOf(details.subscription);
    plan = await findPlan(ctx.tx, { subscription, planId: details.metadata?.financingPlanId ?? null });
    if (!plan) return;
    plan = await linkSubscription(ctx, plan, subscription);
    await recordInstalment(ctx, event, plan, hinted);
  } else {
    const planId = hinted.metadata?.financingPlanId;
    if (!planId) return;
    plan = await findPlan(ctx.tx, { planId });
    if (!plan) return;
  }
  const settled = await settlePlan(ctx.deps, ctx.tx, plan);
  ctx.invalidate(planTags(settled));
}

/** The day after the last instalment's period: when a plan that runs its full term ends at Stripe. */
function termEndDate(plan: PlanRow): BusinessDate {
  const instalments = plan.payments.filter((p) => p.kind === 'instalment').length;
  return instalmentDueDate(plan.startDate as BusinessDate, instalments + 1);
}

/**
 * The subscription ended. At its scheduled end (end_behavior cancel) the plan is judged from its invoices
 * (`completed`, or `balloon_due` / `past_due` while something is open); earlier — canceled at Stripe, or by
 * Stripe after failed retries — it is `ended_early`. Ends we caused (cancel, payoff) keep their status.
 */
async function onSubscriptionEnded(
  ctx: HandlerContext,
  plan: PlanRow,
  subscription: Stripe.Subscription,
  eventCreated: number,
): Promise<PlanRow> {
  const endedAt = subscription.ended_at ?? subscription.canceled_at ?? eventCreated;
  // Stripe's periods are UTC months: its end may fall a day before our Berlin date for it.
  const atTerm = compareDates(berlinDate(endedAt * 1000), addDays(termEndDate(plan), -1)) >= 0;
  const now = new Date(ctx.deps.clock.now());
  if (atTerm && !plan.termEnded) {
    await ctx.tx
      .update(financingPlans)
      .set({ termEnded: true, endedAt: plan.endedAt ?? new Date(endedAt * 1000), updatedAt: now })
      .where(eq(financingPlans.id, plan.id));
    plan = await reloadPlan(ctx.tx, plan.id);
  }
  if (hasEnded(plan.status) || atTerm) return settlePlan(ctx.deps, ctx.tx, plan);
  const reason = subscription.cancellation_details?.reason ?? 'canceled_at_stripe';
  return movePlanStatus(
    ctx.tx,
    plan,
    'ended_early',
    { endReason: reason, endedAt: new Date(endedAt * 1000) },
    now,
  );
}

/** customer.subscription.*: links the subscription, follows active ⇄ past_due, and judges its end. */
async function onSubscription(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const hinted = event.data.object as Stripe.Subscription;
  let plan = await findPlan(ctx.tx, {
    subscription: hinted.id,
    schedule: idOf(hinted.schedule),
    planId: hinted.metadata?.financingPlanId ?? null,
  });
  if (!plan) return;
  plan = await linkSubscription(ctx, plan, hinted.id);
  // The event is a hint: re-fetch, so whatever order events arrive in, the plan follows Stripe's state.
  const current = await ctx.deps.stripe.subscriptions.retrieve(hinted.id);
  const now = new Date(ctx.deps.clock.now());
  if (event.type === 'customer.subscription.deleted' || current.status === 'canceled') {
    plan = await onSubscriptionEnded(ctx, plan, current, event.created);
  } else if (!plan.termEnded && event.created >= plan.stripeSyncedAt) {
    const to =
      current.status === 'active' || current.status === 'trialing'
        ? 'active'
        : ['past_due', 'unpaid', 'incomplete'].includes(current.status)
          ? 'past_due'
          : undefined;
    if (to) plan = await movePlanStatus(ctx.tx, plan, to, { stripeSyncedAt: event.created }, now);
    const wanted = plan.paymentMethodTypes;
    const has = current.payment_settings?.payment_method_types ?? [];
    if (!hasEnded(plan.status) && (has.length !== wanted.length || wanted.some((t) => !has.includes(t)))) {
      // A schedule cannot carry payment_settings: put the plan's payment method types on its subscription.
      // Not worth failing the event over (its status change above must land): logged, tried on the next one.
      await ctx.deps.stripe.subscriptions
        .update(
          current.id,
          {
            payment_settings: {
              payment_method_types:
                wanted as Stripe.SubscriptionUpdateParams.PaymentSettings.PaymentMethodType[],
            },
          },
          planIdempotency(plan, `payment-settings:${current.id}:${wanted.join(',')}`),
        )
        .catch((err: unknown) =>
          ctx.deps.log.warn({ err, planId: plan?.id }, 'payment method types not set on the subscription'),
        );
    }
  }
  ctx.invalidate(planTags(plan));
}

/** subscription_schedule.*: the schedule's subscription appears when it starts. */
async function onSchedule(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const schedule = event.data.object as Stripe.SubscriptionSchedule;
  let plan = await findPlan(ctx.tx, {
    schedule: schedule.id,
    planId: schedule.metadata?.financingPlanId ?? null,
  });
  if (!plan) return;
  plan = await linkSubscription(ctx, plan, idOf(schedule.subscription));
  if (schedule.status === 'active' && plan.status === 'scheduled') {
    plan = await movePlanStatus(ctx.tx, plan, 'active', {}, new Date(ctx.deps.clock.now()));
  }
  ctx.invalidate(planTags(plan));
}

/**
 * checkout.session.completed (setup mode) for a plan awaiting its payment method: the new method becomes the
 * buyer's default for invoices, and the schedule is created now (creating it earlier would have billed the
 * first instalment with nothing to charge, and an unpaid first invoice lets Stripe expire the subscription).
 */
async function onSetupCompleted(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const session = event.data.object as Stripe.Checkout.Session;
  if (session.mode !== 'setup') return;
  const plan = await findPlan(ctx.tx, {
    session: session.id,
    planId: session.metadata?.financingPlanId ?? null,
  });
  if (plan?.status !== 'awaiting_payment_method') return;
  const setupIntentId = idOf(session.setup_intent);
  if (!setupIntentId) return;
  const setupIntent = await ctx.deps.stripe.setupIntents.retrieve(setupIntentId);
  const method = idOf(setupIntent.payment_method);
  if (setupIntent.status !== 'succeeded' || !method) {
    ctx.deps.log.info(
      { planId: plan.id, setupIntent: setupIntentId },
      'setup not succeeded; plan keeps waiting',
    );
    return;
  }
  const buyer = await buyerOfPlan(ctx.tx, plan);
  if (!buyer?.stripeCustomerId) return;
  await ctx.deps.stripe.customers.update(
    buyer.stripeCustomerId,
    { invoice_settings: { default_payment_method: method } },
    planIdempotency(plan, `default-payment-method:${method}`),
  );
  const paymentMethod = await ctx.deps.stripe.paymentMethods.retrieve(method);
  let current = plan;
  if (!plan.paymentMethodTypes.includes(paymentMethod.type)) {
    // The buyer chose this kind of method in Checkout: allow it, or the subscription could not charge it.
    [current = plan] = await ctx.tx
      .update(financingPlans)
      .set({ paymentMethodTypes: [...plan.paymentMethodTypes, paymentMethod.type] })
      .where(eq(financingPlans.id, plan.id))
      .returning();
  }
  const started = await scheduleCollection(
    { ...ctx.deps, db: ctx.tx },
    ctx.tx,
    current,
    buyer.stripeCustomerId,
    method,
    true,
  );
  ctx.invalidate(planTags(started));
}

/** checkout.session.expired: a plan still waiting gets a fresh setup link. */
async function onSetupExpired(ctx: HandlerContext, event: Stripe.Event): Promise<void> {
  const session = event.data.object as Stripe.Checkout.Session;
  if (session.mode !== 'setup') return;
  const plan = await findPlan(ctx.tx, { session: session.id });
  if (plan?.status !== 'awaiting_payment_method' || plan.setupSessionId !== session.id) return;
  const buyer = await buyerOfPlan(ctx.tx, plan);
  if (!buyer?.stripeCustomerId) return;
  const fresh = await createSetupSession(
    ctx.deps,
    plan,
    buyer.stripeCustomerId,
    `setup-session-after:${session.id}`,
  );
  await ctx.tx
    .update(financingPlans)
    .set({ setupSessionId: fresh.id, setupUrl: fresh.url, updatedAt: new Date(ctx.deps.clock.now()) })
    .where(and(eq(financingPlans.id, plan.id), eq(financingPlans.setupSessionId, session.id)));
  ctx.invalidate(planTags(plan));
}

/** Events this capability applies. */
export const financingEventHandlers: HandlerTable = {
  'invoice.created': onInvoice,
  'invoice.finalized': onInvoice,
  'invoice.updated': onInvoice,
  'invoice.paid': onInvoice,
  'invoice.payment_succeeded': onInvoice,
  'invoice.payment_failed': onInvoice,
  'invoice.payment_action_required': onInvoice,
  'invoice.voided': onInvoice,
  'invoice.marked_uncollectible': onInvoice,
  'customer.subscription.created': onSubscription,
  'customer.subscription.updated': onSubscription,
  'customer.subscription.deleted': onSubscription,
  'subscription_schedule.created': onSchedule,
  'subscription_schedule.updated': onSchedule,
  'subscription_schedule.canceled': onSchedule,
  'subscription_schedule.completed': onSchedule,
  'subscription_schedule.released': onSchedule,
  'subscription_schedule.aborted': onSchedule,
  'checkout.session.completed': onSetupCompleted,
  'checkout.session.expired': onSetupExpired,
};
