/**
 * Financing plans: a quote's (or a plain rate's) instalments collected monthly by a Stripe subscription
 * schedule, the balloon invoiced by us, early payoff and cancellation. Rules and choices: README.md.
 */
import { and, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Scope } from '../auth/keys.ts';
import { type BuyerRow, buyers } from '../customers/schema.ts';
import { BUYERS, getBuyerRow } from '../customers/service.ts';
import { invoices } from '../invoices/schema.ts';
import { issueInvoice, SEPA_DEBIT_LIMIT_CENTS } from '../invoices/service.ts';
import { addDays, type BusinessDate, berlinDate, compareDates, daysBetween } from '../platform/dates.ts';
import type { Db } from '../platform/db/index.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { afterCursor, newestFirst, toPage } from '../platform/pagination.ts';
import { collectionTags, tags, tenantFilter } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import type { TerminationCheck } from './arrears.ts';
import { QuoteInputError } from './errors.ts';
import type { CreatePlanInput, PlanDetailView, PlanView } from './plan-schemas.ts';
import {
  balloonOf,
  collectionPhases,
  movedToStart,
  type PlanTerms,
  stripeStartOf,
  termsFromQuote,
  termsFromRate,
} from './plan-terms.ts';
import {
  emptyInvoices,
  invoicesOfPlans,
  paymentStates,
  planPayoff,
  planTermination,
  toPlanDetail,
  toPlanView,
} from './plan-views.ts';
import { monthlyPriceFor, productForModel } from './products.ts';
import { calculateQuote, type Quote, type QuoteInput } from './quote.ts';
import {
  financingPlans,
  LIVE_STATUSES,
  owesRemainingLoan,
  type PlanRow,
  type PlanStatus,
  planMovesForward,
} from './schema.ts';

/** The cache collection name of financing plans (invoices/events.ts invalidates `financing:<planId>` too). */
export const FINANCING = 'financing';

/** The balloon invoice goes out this many days before it is due, so the buyer can pay it by transfer. */
export const BALLOON_NOTICE_DAYS = 14;
/** Days to pay the payoff invoice. */
export const PAYOFF_DAYS_UNTIL_DUE = 14;

/** Everything a change to this plan must invalidate: the plan, the dealer's lists, the buyer, the vehicle. */
export function planTags(plan: Pick<PlanRow, 'id' | 'dealerId' | 'buyerId' | 'vehicleId'>): string[] {
  return [
    tags.object(FINANCING, plan.id),
    ...collectionTags(FINANCING, plan.dealerId),
    tags.object(BUYERS, plan.buyerId),
    tags.vehicle(plan.dealerId, plan.vehicleId),
  ];
}

/** Stripe request options with an idempotency key derived from the plan and the effect. */
export const planIdempotency = (plan: { id: string }, effect: string) => ({
  idempotencyKey: stripeIdempotencyKey('financing-plan', plan.id, effect),
});

/** Today in Berlin by the injected clock. */
function today(deps: ServiceDeps): BusinessDate {
  return berlinDate(deps.clock.now());
}

// ---------------------------------------------------------------------------------------------------------
// Quote

/** A QuoteInputError as the catalogue's 400, its field under `prefix` (e.g. `body.balloon`). */
function quoteValidationError(err: QuoteInputError, prefix: string): ValidationError {
  return new ValidationError(
    `Invalid financing input: ${err.message}.`,
    [{ field: `${prefix}.${err.field}`, message: err.message.slice(err.field.length + 2) }],
    err.code,
  );
}

/** calculateQuote with its input errors as 400s naming `<prefix>.<field>`. */
export function quoteFor(input: QuoteInput, prefix = 'body'): Quote {
  try {
    return calculateQuote(input);
  } catch (err) {
    if (err instanceof QuoteInputError) throw quoteValidationError(err, prefix);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reads

/** One plan of the caller; another dealer's plan is "not found". */
export async function getPlanRow(deps: ServiceDeps, scope: Scope, id: string): Promise<PlanRow> {
  const [row] = await deps.db
    .select()
    .from(financingPlans)
    .where(and(eq(financingPlans.id, id), tenantFilter(scope, financingPlans.dealerId)));
  if (!row) throw new NotFoundError('Financing plan', id);
  return row;
}

/** One plan in detail as of today. */
export async function financingPlanDetail(deps: ServiceDeps, plan: PlanRow): Promise<PlanDetailView> {
  const planInvoices = (await invoicesOfPlans(deps.db, [plan.id])).get(plan.id) ?? emptyInvoices();
  return toPlanDetail(plan, planInvoices, today(deps));
}

/** The caller's plans, newest first, optionally of one buyer or in one status. */
export async function listFinancingPlans(
  deps: ServiceDeps,
  scope: Scope,
  query: {
    limit: number;
    cursor?: string | undefined;
    customerId?: string | undefined;
    status?: PlanStatus | undefined;
  },
) {
  const rows = await deps.db
    .select()
    .from(financingPlans)
    .where(
      and(
        tenantFilter(scope, financingPlans.dealerId),
        query.customerId ? eq(financingPlans.buyerId, query.customerId) : undefined,
        query.status ? eq(financingPlans.status, query.status) : undefined,
        afterCursor(financingPlans.createdAt, financingPlans.id, query.cursor),
      ),
    )
    .orderBy(...newestFirst(financingPlans.createdAt, financingPlans.id))
    .limit(query.limit + 1);
  const byPlan = await invoicesOfPlans(
    deps.db,
    rows.slice(0, query.limit).map((r) => r.id),
  );
  const on = today(deps);
  return toPage(rows, query.limit, (row) => toPlanView(row, byPlan.get(row.id) ?? emptyInvoices(), on));
}

/** A buyer's plans, newest first: the `financingPlans` section of the buyer detail view. */
export async function financingPlansOfBuyer(deps: ServiceDeps, buyerId: string): Promise<PlanView[]> {
  const rows = await deps.db
    .select()
    .from(financingPlans)
    .where(eq(financingPlans.buyerId, buyerId))
    .orderBy(...newestFirst(financingPlans.createdAt, financingPlans.id));
  const byPlan = await invoicesOfPlans(
    deps.db,
    rows.map((r) => r.id),
  );
  const on = today(deps);
  return rows.map((row) => toPlanView(row, byPlan.get(row.id) ?? emptyInvoices(), on));
}

/**
 * § 498 BGB for the dunning module: may the whole loan of this plan be called on `on`? Pass the day the
 * warning with the two-week deadline reached the buyer, if one was sent.
 */
export async function terminationCheckFor(
  deps: ServiceDeps,
  planId: string,
  on: BusinessDate,
  options: { warningSentOn?: BusinessDate } = {},
): Promise<TerminationCheck> {
  const [plan] = await deps.db.select().from(financingPlans).where(eq(financingPlans.id, planId));
  if (!plan) throw new NotFoundError('Financing plan', planId);
  const planInvoices = (await invoicesOfPlans(deps.db, [plan.id])).get(plan.id) ?? emptyInvoices();
  return planTermination(plan, paymentStates(plan, planInvoices, on), on, options.warningSentOn);
}

// ---------------------------------------------------------------------------------------------------------
// Create

/** The buyer named by `customerId`, as a 400 on that field when it is not the caller's. */
async function buyerFor(deps: ServiceDeps, scope: Scope, customerId: string): Promise<BuyerRow> {
  const buyer = await getBuyerRow(deps, scope, customerId).catch((err) => {
    if (err instanceof NotFoundError) {
      throw new ValidationError('Unknown customer.', [
        { field: 'body.customerId', message: 'no such customer' },
      ]);
    }
    throw err;
  });
  if (buyer.deletedAt) {
    throw new ValidationError('The customer was deleted.', [
      { field: 'body.customerId', message: 'deleted' },
    ]);
  }
  if (!buyer.stripeCustomerId) {
    throw new ConflictError('The buyer has no Stripe customer yet; create it again.');
  }
  return buyer;
}

const invalid = (field: string, message: string) =>
  new ValidationError(`Invalid ${field}: ${message}.`, [{ field, message }]);

/** The plan's terms from the request, every rule checked before anything reaches Stripe. */
export function termsOfRequest(
  input: CreatePlanInput,
  on: BusinessDate,
): { terms: PlanTerms; quote: Quote | null; quoteInput: QuoteInput | null } {
  const start = input.startDate;
  if (compareDates(start, on) < 0) throw invalid('body.startDate', `must be today (${on}) or later`);
  if (input.financing) {
    if (input.monthlyRate !== undefined) {
      throw invalid('body.monthlyRate', 'leave it out: with financing the quote gives the rate');
    }
    const given = input.financing.firstPaymentDate;
    if (given !== undefined && given !== start) {
      throw invalid('body.financing.firstPaymentDate', 'must be the startDate (or left out)');
    }
    if (input.durationMonths !== undefined && input.durationMonths !== input.financing.termMonths) {
      throw invalid('body.durationMonths', 'must equal financing.termMonths (or be left out)');
    }
    const quoteInput = { ...input.financing, firstPaymentDate: start } as QuoteInput;
    const quote = quoteFor(quoteInput, 'body.financing');
    const terms = termsFromQuote(quote, quoteInput);
    if (terms.payments.some((p) => p.kind === 'instalment' && p.amount < 50)) {
      throw invalid('body.financing', 'instalments below 0,50 € cannot be collected');
    }
    return { terms, quote, quoteInput };
  }
  if (input.monthlyRate === undefined) throw invalid('body.monthlyRate', 'required (or give financing)');
  if (input.durationMonths === undefined) throw invalid('body.durationMonths', 'required with monthlyRate');
  return {
    terms: termsFromRate(input.monthlyRate, input.durationMonths, start),
    quote: null,
    quoteInput: null,
  };
}

/** How instalments may be paid: SEPA Direct Debit only while every instalment is within the debit limit. */
export function planPaymentMethodTypes(requested: string[] | undefined, terms: PlanTerms): string[] {
  const largest = Math.max(...terms.payments.filter((p) => p.kind === 'instalment').map((p) => p.amount));
  const sepaAllowed = largest <= SEPA_DEBIT_LIMIT_CENTS;
  if (!requested) return sepaAllowed ? ['sepa_debit', 'card'] : ['card'];
  if (!sepaAllowed && requested.includes('sepa_debit')) {
    throw invalid('body.paymentMethodTypes', 'sepa_debit is limited to 10.000,00 € per instalment');
  }
  return [...new Set(requested)];
}

/**
 * POST /api/payments/subscriptions. Our row first (unique per Idempotency-Key), then Stripe, every call keyed
 * by the plan id, so a retry resumes the same plan and never makes a second schedule.
 */
export async function createFinancingPlan(
  deps: ServiceDeps,
  scope: Scope,
  input: CreatePlanInput,
  idempotencyKey: string | undefined,
): Promise<PlanView> {
  const buyer = await buyerFor(deps, scope, input.customerId);
  const requestKey = idempotencyKey ?? null;
  let plan: PlanRow | undefined;
  if (requestKey) {
    [plan] = await deps.db.select().from(financingPlans).where(eq(financingPlans.requestKey, requestKey));
  }
  const resuming = plan !== undefined;
  if (!plan) {
    // One running plan per vehicle: a retried request without an Idempotency-Key must not debit the buyer twice a
    // month. (The partial unique index in migrations/011 holds the line when two requests race.)
    const [running] = await deps.db
      .select({ id: financingPlans.id })
      .from(financingPlans)
      .where(
        and(
          eq(financingPlans.dealerId, buyer.dealerId),
          eq(financingPlans.vehicleId, input.vehicleId),
          inArray(financingPlans.status, [...LIVE_STATUSES]),
        ),
      );
    if (running) {
      throw new ConflictError(
        `Vehicle ${input.vehicleId} already has a running financing plan (${running.id}); cancel or pay it off first.`,
        'plan_exists',
      );
    }
    const on = today(deps);
    const { terms, quote, quoteInput } = termsOfRequest(input, on);
    const paymentMethodTypes = planPaymentMethodTypes(input.paymentMethodTypes, terms);
    const balloon = balloonOf(terms.payments);
    const now = new Date(deps.clock.now());
    [plan] = await deps.db
      .insert(financingPlans)
      .values({
        id: newId('fin'),
        dealerId: buyer.dealerId,
        buyerId: buyer.id,
        vehicleId: input.vehicleId,
        vehicleModel: input.vehicleModel,
        monthlyRate: terms.monthlyRate,
        startDate: input.startDate,
        durationMonths: terms.durationMonths,
        paymentMethodTypes,
        quoteInput,
        quote,
        payments: terms.payments,
        balloonAmount: balloon?.amount ?? 0,
        balloonDueDate: balloon?.dueDate ?? null,
        status: 'creating',
        requestKey,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: financingPlans.requestKey })
      .returning();
    if (!plan && requestKey) {
      [plan] = await deps.db.select().from(financingPlans).where(eq(financingPlans.requestKey, requestKey));
    }
  }
  if (!plan) throw new Error('financing plan row vanished');
  const started = await startCollection(deps, deps.db, plan, buyer, resuming);
  await deps.cache.invalidateTags(planTags(started));
  return toPlanView(started, emptyInvoices(), today(deps));
}

/** A payment method of the buyer that the plan may be collected with: the default one first. */
async function usablePaymentMethod(
  stripe: Stripe,
  customerId: string,
  allowed: readonly string[],
): Promise<string | null> {
  const customer = await stripe.customers.retrieve(customerId).catch(wrapStripeError);
  if ('deleted' in customer && customer.deleted) {
    throw new ValidationError('The customer was deleted at Stripe.', [
      { field: 'body.customerId', message: 'deleted' },
    ]);
  }
  const preferred = (customer as Stripe.Customer).invoice_settings?.default_payment_method;
  if (preferred) {
    const method =
      typeof preferred === 'string'
        ? await stripe.paymentMethods.retrieve(preferred).catch(wrapStripeError)
        : preferred;
    if (allowed.includes(method.type)) return method.id;
  }
  const methods = await stripe.customers
    .listPaymentMethods(customerId, { limit: 100 })
    .catch(wrapStripeError);
  return methods.data.find((m) => allowed.includes(m.type))?.id ?? null;
}

/**
 * Starts collecting a plan still being created: with a payment method on file, the schedule; without one,
 * a Checkout Session in setup mode whose completion (checkout.session.completed) creates the schedule.
 */
async function startCollection(
  deps: ServiceDeps,
  db: Db,
  plan: PlanRow,
  buyer: BuyerRow,
  resuming: boolean,
): Promise<PlanRow> {
  if (plan.status !== 'creating') return plan;
  const customer = buyer.stripeCustomerId as string;
  const now = new Date(deps.clock.now());
  const method = await usablePaymentMethod(deps.stripe, customer, plan.paymentMethodTypes);
  if (method) return scheduleCollection(deps, db, plan, customer, method, resuming);

  const session = await createSetupSession(deps, plan, customer, 'setup-session');
  const [updated] = await db
    .update(financingPlans)
    .set({
      status: 'awaiting_payment_method',
      setupSessionId: session.id,
      setupUrl: session.url,
      updatedAt: now,
    })
    .where(and(eq(financingPlans.id, plan.id), eq(financingPlans.status, 'creating')))
    .returning();
  return updated ?? (await reloadPlan(db, plan.id));
}

/**
 * A Checkout Session in setup mode for the buyer to give a payment method (no payment_method_types in this
 * API version: Checkout offers what the account has enabled for EUR).
 */
export async function createSetupSession(
  deps: ServiceDeps,
  plan: PlanRow,
  customer: string,
  effect: string,
): Promise<Stripe.Checkout.Session> {
  return deps.stripe.checkout.sessions
    .create(
      {
        mode: 'setup',
        customer,
        currency: 'eur',
        success_url: `${deps.publicBaseUrl}/payments/setup-complete?plan=${plan.id}`,
        metadata: { financingPlanId: plan.id, kind: 'financing_setup' },
        setup_intent_data: { metadata: { financingPlanId: plan.id } },
      },
      planIdempotency(plan, effect),
    )
    .catch(wrapStripeError);
}

/** The plan as stored now. */
export async function reloadPlan(db: Db, id: string): Promise<PlanRow> {
  const [row] = await db.select().from(financingPlans).where(eq(financingPlans.id, id));
  if (!row) throw new NotFoundError('Financing plan', id);
  return row;
}

/** The schedule Stripe already has for this plan (a retry after Stripe answered but we did not record it). */
async function existingSchedule(
  stripe: Stripe,
  customer: string,
  planId: string,
): Promise<Stripe.SubscriptionSchedule | undefined> {
  for await (const schedule of stripe.subscriptionSchedules.list({ customer, limit: 100 })) {
    if (schedule.metadata?.financingPlanId === planId) return schedule;
  }
  return undefined;
}

/**
 * Creates the subscription schedule: from the start date ('now' when that is today; else 00:00 UTC of it,
 * see stripeStartOf for why not 00:00 Berlin), one
 * phase per run of equal instalments (`duration` in calendar months — never `iterations`, never days),
 * `end_behavior: cancel` so Stripe ends the subscription after the last instalment. A start date that has
 * passed meanwhile (the buyer gave the payment method late) moves to today, with every due date.
 */
export async function scheduleCollection(
  deps: ServiceDeps,
  db: Db,
  plan: PlanRow,
  customer: string,
  paymentMethod: string,
  resuming: boolean,
): Promise<PlanRow> {
  const on = today(deps);
  const now = new Date(deps.clock.now());
  let current = plan;
  if (compareDates(current.startDate as BusinessDate, on) < 0) {
    const payments = movedToStart(current.payments, current.startDate as BusinessDate, on);
    [current = current] = await db
      .update(financingPlans)
      .set({ startDate: on, payments, balloonDueDate: balloonOf(payments)?.dueDate ?? null, updatedAt: now })
      .where(eq(financingPlans.id, current.id))
      .returning();
  }
  const productId =
    current.stripeProductId ?? (await productForModel(db, deps.stripe, current.vehicleModel, now));
  const phases = collectionPhases(current.payments);
  const prices = new Map<number, string>();
  for (const phase of phases) {
    if (!prices.has(phase.amount)) {
      prices.set(
        phase.amount,
        await monthlyPriceFor(deps.stripe, productId, current.vehicleModel, phase.amount),
      );
    }
  }
  const metadata = {
    financingPlanId: current.id,
    kind: 'financing',
    dealerId: current.dealerId,
    buyerId: current.buyerId,
    vehicleId: current.vehicleId,
    vehicleModel: current.vehicleModel,
  };
  const start = current.startDate as BusinessDate;
  const schedule =
    (resuming ? await existingSchedule(deps.stripe, customer, current.id) : undefined) ??
    (await deps.stripe.subscriptionSchedules
      .create(
        {
          customer,
          start_date: start === on ? 'now' : stripeStartOf(start),
          end_behavior: 'cancel',
          default_settings: {
            collection_method: 'charge_automatically',
            default_payment_method: paymentMethod,
            description: `Finanzierung MORELO ${current.vehicleModel}, Fahrzeug ${current.vehicleId}`,
          },
          phases: phases.map((phase) => ({
            items: [{ price: prices.get(phase.amount) as string, quantity: 1 }],
            duration: { interval: 'month', interval_count: phase.months },
            proration_behavior: 'none',
            metadata,
          })),
          metadata,
        },
        planIdempotency(current, `create-schedule:${start}`),
      )
      .catch(wrapStripeError));
  const subscription =
    typeof schedule.subscription === 'string' ? schedule.subscription : (schedule.subscription?.id ?? null);
  await db
    .update(financingPlans)
    .set({
      stripeProductId: productId,
      stripeScheduleId: schedule.id,
      ...(subscription ? { stripeSubscriptionId: subscription } : {}),
      updatedAt: now,
    })
    .where(eq(financingPlans.id, current.id));
  // The subscription's own events may already have moved the plan on (a schedule starting now): status
  // only from where creation left it.
  const [updated] = await db
    .update(financingPlans)
    .set({ status: schedule.status === 'active' ? 'active' : 'scheduled' })
    .where(
      and(
        eq(financingPlans.id, current.id),
        inArray(financingPlans.status, ['creating', 'awaiting_payment_method']),
      ),
    )
    .returning();
  return updated ?? (await reloadPlan(db, current.id));
}

// ---------------------------------------------------------------------------------------------------------
// Payoff and cancellation

/** Stops Stripe collecting: cancels the schedule (and so its subscription) without a final invoice or proration. */
async function stopCollection(deps: ServiceDeps, plan: PlanRow): Promise<void> {
  const stripe = deps.stripe;
  if (plan.stripeScheduleId) {
    const schedule = await stripe.subscriptionSchedules
      .retrieve(plan.stripeScheduleId)
      .catch(wrapStripeError);
    if (schedule.status === 'not_started' || schedule.status === 'active') {
      await stripe.subscriptionSchedules
        .cancel(schedule.id, { invoice_now: false, prorate: false }, planIdempotency(plan, 'cancel-schedule'))
        .catch(wrapStripeError);
      return;
    }
  }
  if (plan.stripeSubscriptionId) {
    const subscription = await stripe.subscriptions
      .retrieve(plan.stripeSubscriptionId)
      .catch(wrapStripeError);
    if (subscription.status !== 'canceled' && subscription.status !== 'incomplete_expired') {
      await stripe.subscriptions
        .cancel(
          subscription.id,
          { invoice_now: false, prorate: false },
          planIdempotency(plan, 'cancel-subscription'),
        )
        .catch(wrapStripeError);
    }
    return;
  }
  if (plan.setupSessionId) {
    const session = await stripe.checkout.sessions.retrieve(plan.setupSessionId).catch(wrapStripeError);
    if (session.status === 'open') {
      await stripe.checkout.sessions
        .expire(session.id, {}, planIdempotency(plan, 'expire-setup'))
        .catch(wrapStripeError);
    }
  }
}

/** Moves a plan's status if that goes forward; returns the row as it is afterwards. */
export async function movePlanStatus(
  db: Db,
  plan: PlanRow,
  to: PlanStatus,
  set: Partial<PlanRow>,
  now: Date,
): Promise<PlanRow> {
  if (!planMovesForward(plan.status, to)) return plan;
  const [updated] = await db
    .update(financingPlans)
    .set({ ...set, status: to, updatedAt: now })
    .where(and(eq(financingPlans.id, plan.id), eq(financingPlans.status, plan.status)))
    .returning();
  return updated ?? (await reloadPlan(db, plan.id));
}

/** Why a plan is paid off: the buyer's wish, or the lender called the whole loan (§ 498 BGB, from dunning). */
export type PayoffOccasion = 'payoff' | 'loan_called';

/**
 * POST …/payoff: ends the plan early. Stripe stops collecting (no further invoice, no proration), open
 * instalment and balloon invoices are voided, and one payoff invoice asks for the remaining principal plus
 * the interest of payments already due — no interest after today (§ 502 BGB: no prepayment penalty here).
 * Status `terminated_early` until that invoice is paid, then `paid_off`. Calling it again resumes and
 * answers the same plan. Dunning calls it with `loan_called` after a § 498 Gesamtfälligstellung: the same
 * amount, the invoice worded as the called loan.
 */
export async function payOffPlan(
  deps: ServiceDeps,
  scope: Scope,
  id: string,
  occasion: PayoffOccasion = 'payoff',
): Promise<PlanDetailView> {
  let plan = await getPlanRow(deps, scope, id);
  if (plan.status !== 'terminated_early' && !owesRemainingLoan(plan)) {
    if (plan.status === 'paid_off') return financingPlanDetail(deps, plan);
    throw new ConflictError(
      `The plan has ended (${plan.status}); there is nothing to pay off.`,
      'plan_ended',
    );
  }
  const on = today(deps);
  const now = new Date(deps.clock.now());
  const before = (await invoicesOfPlans(deps.db, [plan.id])).get(plan.id) ?? emptyInvoices();
  if (paymentStates(plan, before, on).some((s) => s.status === 'processing')) {
    throw new ConflictError(
      'A payment of this plan is still being processed (SEPA); pay off once it has settled.',
      'payment_processing',
    );
  }
  plan = await movePlanStatus(deps.db, plan, 'terminated_early', { endedAt: plan.endedAt ?? now }, now);
  await deps.cache.invalidateTags(planTags(plan));
  if (plan.status !== 'terminated_early') return financingPlanDetail(deps, plan);

  await stopCollection(deps, plan);
  // A renewal Stripe had already drafted would still be finalized and charged on top of the payoff: delete it.
  if (plan.stripeSubscriptionId) {
    const drafts = await deps.stripe.invoices
      .list({ subscription: plan.stripeSubscriptionId, status: 'draft', limit: 100 })
      .catch(wrapStripeError);
    for (const draft of drafts.data) await deps.stripe.invoices.del(draft.id).catch(wrapStripeError);
  }
  const planInvoices = (await invoicesOfPlans(deps.db, [plan.id])).get(plan.id) ?? emptyInvoices();
  const toVoid = [...[...planInvoices.instalments.values()].flat(), ...planInvoices.balloon].filter(
    (i) => i.status === 'open' && i.stripeInvoiceId,
  );
  for (const invoice of toVoid) {
    await deps.stripe.invoices
      .voidInvoice(
        invoice.stripeInvoiceId as string,
        {},
        planIdempotency(plan, `void:${invoice.stripeInvoiceId}`),
      )
      .catch(wrapStripeError);
  }
  if (toVoid.length > 0) {
    await deps.db
      .update(invoices)
      .set({ status: 'void', amountRemaining: 0, updatedAt: now })
      .where(
        and(
          inArray(
            invoices.id,
            toVoid.map((i) => i.id),
          ),
          eq(invoices.status, 'open'),
        ),
      );
  }
  const after = (await invoicesOfPlans(deps.db, [plan.id])).get(plan.id) ?? emptyInvoices();
  const { total } = planPayoff(paymentStates(plan, after, on), on);
  if (total > 0) {
    await issueInvoice(deps, {
      dealerId: plan.dealerId,
      buyerId: plan.buyerId,
      vehicleId: plan.vehicleId,
      kind: 'payoff',
      amount: total,
      description: `${occasion === 'loan_called' ? 'Gesamtfälligstellung (§ 498 BGB)' : 'Ablösung'} der Finanzierung ${plan.id}, MORELO ${plan.vehicleModel}, Fahrzeug ${plan.vehicleId}`,
      daysUntilDue: PAYOFF_DAYS_UNTIL_DUE,
      financingPlanId: plan.id,
      requestKey: `financing:${plan.id}:payoff`,
    });
  } else {
    plan = await movePlanStatus(deps.db, plan, 'paid_off', {}, now);
  }
  await deps.cache.invalidateTags(planTags(plan));
  return financingPlanDetail(deps, await reloadPlan(deps.db, plan.id));
}

/**
 * POST …/cancel: ends the plan without payoff; Stripe stops collecting (no final invoice). Invoices already
 * issued stay payable (dunning handles them). Calling it again answers the canceled plan.
 */
export async function cancelPlan(
  deps: ServiceDeps,
  scope: Scope,
  id: string,
  reason: string,
): Promise<PlanDetailView> {
  let plan = await getPlanRow(deps, scope, id);
  if (plan.status !== 'canceled' && !LIVE_STATUSES.includes(plan.status)) {
    throw new ConflictError(`The plan has ended (${plan.status}); it cannot be canceled.`, 'plan_ended');
  }
  const now = new Date(deps.clock.now());
  plan = await movePlanStatus(
    deps.db,
    plan,
    'canceled',
    { cancelReason: reason, endedAt: plan.endedAt ?? now },
    now,
  );
  if (plan.status === 'canceled') await stopCollection(deps, plan);
  await deps.cache.invalidateTags(planTags(plan));
  return financingPlanDetail(deps, plan);
}

// ---------------------------------------------------------------------------------------------------------
// Clock job: the balloon

/**
 * Issues the balloon (Schlussrate) invoices falling due within BALLOON_NOTICE_DAYS: one invoice per plan
 * (keyed by the plan), payable by bank transfer, due on the balloon's date (at least tomorrow when the job
 * ran late). Runs outside any transaction; a crash or a second instance resumes the same invoice.
 */
export async function issueDueBalloonInvoices(deps: ServiceDeps): Promise<number> {
  const on = today(deps);
  const plans = await deps.db
    .select()
    .from(financingPlans)
    .where(
      and(
        sql`${financingPlans.balloonAmount} > 0`,
        lte(financingPlans.balloonDueDate, addDays(on, BALLOON_NOTICE_DAYS)),
        inArray(financingPlans.status, ['scheduled', 'active', 'past_due', 'balloon_due']),
        sql`not exists (select 1 from ${invoices} where ${invoices.financingPlanId} = ${financingPlans.id}
          and ${invoices.kind} = 'balloon' and ${invoices.status} not in ('creating', 'draft'))`,
      ),
    );
  let issued = 0;
  for (const plan of plans) {
    const balloon = balloonOf(plan.payments);
    if (!balloon) continue;
    try {
      await issueInvoice(deps, {
        dealerId: plan.dealerId,
        buyerId: plan.buyerId,
        vehicleId: plan.vehicleId,
        kind: 'balloon',
        amount: balloon.amount,
        description: `Schlussrate der Finanzierung ${plan.id}, MORELO ${plan.vehicleModel}, Fahrzeug ${plan.vehicleId}`,
        daysUntilDue: Math.max(1, daysBetween(on, balloon.dueDate as BusinessDate)),
        financingPlanId: plan.id,
        requestKey: `financing:${plan.id}:balloon`,
      });
      issued++;
      await deps.cache.invalidateTags(planTags(plan));
    } catch (err) {
      // One plan's failure must not hold up the others; the next run tries again.
      deps.log.warn({ err, planId: plan.id }, 'balloon invoice could not be issued; will retry');
    }
  }
  return issued;
}

// ---------------------------------------------------------------------------------------------------------
// Used by the event handlers

/** The plan a Stripe object belongs to, by subscription, schedule, setup session or our metadata. */
export async function findPlan(
  db: Db,
  ref: {
    subscription?: string | null;
    schedule?: string | null;
    session?: string | null;
    planId?: string | null;
  },
): Promise<PlanRow | undefined> {
  const conditions = [
    ref.subscription ? eq(financingPlans.stripeSubscriptionId, ref.subscription) : undefined,
    ref.schedule ? eq(financingPlans.stripeScheduleId, ref.schedule) : undefined,
    ref.session ? eq(financingPlans.setupSessionId, ref.session) : undefined,
    ref.planId ? eq(financingPlans.id, ref.planId) : undefined,
  ].filter((c) => c !== undefined);
  if (conditions.length === 0) return undefined;
  const [row] = await db
    .select()
    .from(financingPlans)
    .where(or(...conditions))
    .limit(1);
  return row;
}

/**
 * Re-judges a plan from its invoices once its subscription ended or it was paid off: `completed` when every
 * instalment and the balloon are paid, `balloon_due` while only the balloon is open, `past_due` while an
 * instalment is; `paid_off` once the payoff invoice is paid.
 */
export async function settlePlan(deps: ServiceDeps, db: Db, plan: PlanRow): Promise<PlanRow> {
  if (!plan.termEnded && plan.status !== 'terminated_early') return plan;
  const planInvoices = (await invoicesOfPlans(db, [plan.id])).get(plan.id) ?? emptyInvoices();
  const now = new Date(deps.clock.now());
  if (plan.status === 'terminated_early') {
    return planInvoices.payoff.some((i) => i.status === 'paid')
      ? movePlanStatus(db, plan, 'paid_off', {}, now)
      : plan;
  }
  const states = paymentStates(plan, planInvoices, berlinDate(deps.clock.now()));
  const instalmentsPaid = states.every((s) => s.payment.kind !== 'instalment' || s.status === 'paid');
  const balloonPaid = states.every((s) => s.payment.kind !== 'balloon' || s.status === 'paid');
  const to: PlanStatus = !instalmentsPaid ? 'past_due' : balloonPaid ? 'completed' : 'balloon_due';
  return movePlanStatus(db, plan, to, {}, now);
}

/** The buyer of a plan (for handlers, which are not called in a caller's scope). */
export async function buyerOfPlan(db: Db, plan: Pick<PlanRow, 'buyerId'>): Promise<BuyerRow | undefined> {
  const [row] = await db.select().from(buyers).where(eq(buyers.id, plan.buyerId));
  return row;
}
