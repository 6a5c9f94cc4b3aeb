import { bigint, boolean, date, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { Quote, QuoteInput } from './quote.ts';

/** Where a financing plan stands; see README.md for what moves it. */
export const PLAN_STATUSES = [
  'creating',
  'awaiting_payment_method',
  'scheduled',
  'active',
  'past_due',
  'balloon_due',
  'terminated_early',
  'completed',
  'paid_off',
  'canceled',
  'ended_early',
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** Statuses in which Stripe collects (or is about to) and the plan can still be paid off or canceled. */
export const LIVE_STATUSES: readonly PlanStatus[] = [
  'creating',
  'awaiting_payment_method',
  'scheduled',
  'active',
  'past_due',
  'balloon_due',
];
/** Statuses a plan never leaves. */
export const ENDED_STATUSES: readonly PlanStatus[] = ['completed', 'paid_off', 'canceled', 'ended_early'];

/** How far along a plan is: an event may move it to an equal or later rank; ended plans do not move. */
const RANK: Record<PlanStatus, number> = {
  creating: 0,
  awaiting_payment_method: 1,
  scheduled: 2,
  active: 3,
  past_due: 3,
  balloon_due: 4,
  terminated_early: 5,
  completed: 6,
  paid_off: 6,
  canceled: 6,
  ended_early: 6,
};

/**
 * Whether a plan may move from one status to another (active ⇄ past_due both ways; nothing leaves an end,
 * except that a plan Stripe stopped after failed payments can still be paid off: see `owesRemainingLoan`).
 */
export function planMovesForward(from: PlanStatus, to: PlanStatus): boolean {
  if (from === 'ended_early' && to === 'terminated_early') return true;
  if (ENDED_STATUSES.includes(from)) return from === to;
  return RANK[to] >= RANK[from];
}

/** Stripe's `cancellation_details.reason` when it ended a subscription because every retry failed. */
export const STRIPE_GAVE_UP_REASON = 'payment_failed';

/**
 * Whether the buyer still owes the whole rest of the loan: while the plan runs, and also when Stripe
 * stopped collecting because every retry of a payment failed (its account setting "cancel the
 * subscription") — that ends the subscription, not the credit contract. Such a plan shows its payoff
 * and can be paid off or, under § 498 BGB, called.
 */
export function owesRemainingLoan(plan: Pick<PlanRow, 'status' | 'endReason'>): boolean {
  return (
    LIVE_STATUSES.includes(plan.status) ||
    (plan.status === 'ended_early' && plan.endReason === STRIPE_GAVE_UP_REASON)
  );
}

/** Status names that say the plan no longer collects. */
export function hasEnded(status: PlanStatus): boolean {
  return ENDED_STATUSES.includes(status) || status === 'terminated_early';
}

/**
 * One payment of a plan as fixed at creation: the instalments Stripe collects (n = 1…M, monthly from the
 * start date) and, when there is one, the balloon (n = M + 1) that we invoice ourselves. Interest and
 * principal come from the quote (a plan from a plain monthly rate has no interest part).
 */
export interface PlannedPayment {
  n: number;
  kind: 'instalment' | 'balloon';
  dueDate: string;
  amount: number;
  interest: number;
  principal: number;
}

/** Financing plans; see migrations/006_financing.sql. */
export const financingPlans = pgTable('financing_plans', {
  id: text('id').primaryKey(),
  dealerId: text('dealer_id').notNull(),
  buyerId: text('buyer_id').notNull(),
  vehicleId: text('vehicle_id').notNull(),
  vehicleModel: text('vehicle_model').notNull(),
  monthlyRate: bigint('monthly_rate', { mode: 'number' }).notNull(),
  startDate: date('start_date', { mode: 'string' }).notNull(),
  durationMonths: integer('duration_months').notNull(),
  paymentMethodTypes: jsonb('payment_method_types').$type<string[]>().notNull(),
  quoteInput: jsonb('quote_input').$type<QuoteInput>(),
  quote: jsonb('quote').$type<Quote>(),
  payments: jsonb('payments').$type<PlannedPayment[]>().notNull(),
  balloonAmount: bigint('balloon_amount', { mode: 'number' }).notNull().default(0),
  balloonDueDate: date('balloon_due_date', { mode: 'string' }),
  status: text('status', { enum: PLAN_STATUSES }).notNull(),
  stripeProductId: text('stripe_product_id'),
  setupSessionId: text('setup_session_id').unique(),
  setupUrl: text('setup_url'),
  stripeScheduleId: text('stripe_schedule_id').unique(),
  stripeSubscriptionId: text('stripe_subscription_id').unique(),
  termEnded: boolean('term_ended').notNull().default(false),
  endReason: text('end_reason'),
  cancelReason: text('cancel_reason'),
  requestKey: text('request_key').unique(),
  stripeSyncedAt: bigint('stripe_synced_at', { mode: 'number' }).notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  endedAt: timestamp('ended_at', { withTimezone: true }),
});

export type PlanRow = typeof financingPlans.$inferSelect;

/** Subscription invoice → instalment number of its plan. */
export const financingInstalments = pgTable(
  'financing_instalments',
  {
    invoiceId: text('invoice_id').primaryKey(),
    planId: text('plan_id').notNull(),
    n: integer('n').notNull(),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    lastFailedAt: timestamp('last_failed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('financing_instalments_plan').on(t.planId, t.n)],
);

/** The one Stripe Product of each vehicle model. */
export const stripeProducts = pgTable('stripe_products', {
  modelKey: text('model_key').primaryKey(),
  vehicleModel: text('vehicle_model').notNull(),
  stripeProductId: text('stripe_product_id').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
