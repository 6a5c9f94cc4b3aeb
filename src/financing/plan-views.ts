/**
 * How a plan stands, from its row and its invoices: each payment's status, counts, arrears, payoff today
 * and the § 498 BGB check. Pure but for `invoicesOfPlans`, the one query that loads what they judge.
 */
import { eq, inArray } from 'drizzle-orm';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import type { BusinessDate } from '../platform/dates.ts';
import type { Db } from '../platform/db/index.ts';
import { cents } from '../platform/money.ts';
import { checkTerminationAllowed, type TerminationCheck } from './arrears.ts';
import { payoffAmount } from './payoff.ts';
import type { PaymentStatus, PlanDetailView, PlanView } from './plan-schemas.ts';
import { balloonOf } from './plan-terms.ts';
import type { ScheduleRow } from './quote.ts';
import {
  financingInstalments,
  LIVE_STATUSES,
  owesRemainingLoan,
  type PlannedPayment,
  type PlanRow,
} from './schema.ts';

/** A plan's invoices: its instalments by number, its balloon and payoff invoices. */
export interface PlanInvoices {
  instalments: Map<number, Array<InvoiceRow & { lastFailedAt: Date | null }>>;
  balloon: InvoiceRow[];
  payoff: InvoiceRow[];
}

/** A plan with no invoices yet. */
export const emptyInvoices = (): PlanInvoices => ({ instalments: new Map(), balloon: [], payoff: [] });

/** The invoices of several plans, in one query. */
export async function invoicesOfPlans(db: Db, planIds: string[]): Promise<Map<string, PlanInvoices>> {
  const result = new Map<string, PlanInvoices>(planIds.map((id) => [id, emptyInvoices()]));
  if (planIds.length === 0) return result;
  const rows = await db
    .select({ invoice: invoices, n: financingInstalments.n, lastFailedAt: financingInstalments.lastFailedAt })
    .from(invoices)
    .leftJoin(financingInstalments, eq(financingInstalments.invoiceId, invoices.id))
    .where(inArray(invoices.financingPlanId, planIds))
    .orderBy(invoices.createdAt);
  for (const { invoice, n, lastFailedAt } of rows) {
    const planInvoices = result.get(invoice.financingPlanId ?? '');
    if (!planInvoices) continue;
    if (invoice.kind === 'balloon') planInvoices.balloon.push(invoice);
    else if (invoice.kind === 'payoff') planInvoices.payoff.push(invoice);
    else if (invoice.kind === 'instalment' && n !== null) {
      const list = planInvoices.instalments.get(n) ?? [];
      list.push({ ...invoice, lastFailedAt });
      planInvoices.instalments.set(n, list);
    }
  }
  return result;
}

const PREFERENCE: Record<PaymentStatus, number> = {
  paid: 5,
  processing: 4,
  failed: 3,
  open: 2,
  upcoming: 1,
  void: 0,
};

function invoiceStatus(invoice: InvoiceRow & { lastFailedAt?: Date | null }): PaymentStatus {
  if (invoice.status === 'paid') return 'paid';
  if (invoice.status === 'void') return 'void';
  if (invoice.paymentProcessing) return 'processing';
  if (invoice.status === 'uncollectible' || invoice.lastFailedAt) return 'failed';
  return 'open';
}

/** One payment of the plan with where it stands. */
export interface PaymentState {
  payment: PlannedPayment;
  status: PaymentStatus;
  invoice: InvoiceRow | null;
}

/** Where each payment stands: from its invoice (the furthest one, if Stripe made several), else by date. */
export function paymentStates(plan: PlanRow, planInvoices: PlanInvoices, on: BusinessDate): PaymentState[] {
  return plan.payments.map((payment) => {
    const candidates: InvoiceRow[] =
      payment.kind === 'balloon' ? planInvoices.balloon : (planInvoices.instalments.get(payment.n) ?? []);
    let best: { status: PaymentStatus; invoice: InvoiceRow } | undefined;
    for (const invoice of candidates) {
      const status = invoiceStatus(invoice);
      if (!best || PREFERENCE[status] > PREFERENCE[best.status]) best = { status, invoice };
    }
    if (best) return { payment, ...best };
    return { payment, status: payment.dueDate > on ? 'upcoming' : 'open', invoice: null };
  });
}

/**
 * The payments still owed: every unpaid one while the plan runs or Stripe gave up after failed payments
 * (`owesRemainingLoan`); once it has ended otherwise, only those that were invoiced (a canceled plan does
 * not owe the instalments it will never bill).
 */
function owedStates(plan: PlanRow, states: PaymentState[]): PaymentState[] {
  const owesAll = owesRemainingLoan(plan);
  return states.filter((s) => s.status !== 'paid' && s.status !== 'void' && (owesAll || s.invoice !== null));
}

function counts(plan: PlanRow, states: PaymentState[], on: BusinessDate) {
  const paidCount = states.filter((s) => s.status === 'paid').length;
  const owed = owedStates(plan, states);
  const next = LIVE_STATUSES.includes(plan.status)
    ? owed.find((s) => s.payment.dueDate >= on && s.status !== 'processing')
    : undefined;
  return { paidCount, remainingCount: owed.length, nextPaymentDate: next?.payment.dueDate ?? null };
}

/** Row → API view (counts as of `on`). */
export function toPlanView(plan: PlanRow, planInvoices: PlanInvoices, on: BusinessDate): PlanView {
  const balloon = balloonOf(plan.payments);
  const states = paymentStates(plan, planInvoices, on);
  return {
    id: plan.id,
    customerId: plan.buyerId,
    dealerId: plan.dealerId,
    vehicleId: plan.vehicleId,
    vehicleModel: plan.vehicleModel,
    monthlyRate: plan.monthlyRate,
    startDate: plan.startDate,
    durationMonths: plan.durationMonths,
    paymentMethodTypes: plan.paymentMethodTypes,
    status: plan.status,
    ...(plan.status === 'awaiting_payment_method' && plan.setupUrl ? { setupUrl: plan.setupUrl } : {}),
    stripeScheduleId: plan.stripeScheduleId,
    stripeSubscriptionId: plan.stripeSubscriptionId,
    balloon: balloon
      ? {
          amount: balloon.amount,
          dueDate: balloon.dueDate,
          invoiceId: planInvoices.balloon.find((i) => i.status !== 'void')?.id ?? null,
        }
      : null,
    ...counts(plan, states, on),
    ...(plan.quote ? { quote: plan.quote } : {}),
    cancelReason: plan.cancelReason,
    endReason: plan.endReason,
    createdAt: plan.createdAt.toISOString(),
  };
}

/** What paying the plan off on `on` costs: unpaid principal plus the interest of unpaid payments already due. */
export function planPayoff(states: PaymentState[], on: BusinessDate) {
  // A payment in processing is on its way: it is not charged again (POST …/payoff waits until it settles).
  const unpaid = states
    .filter((s) => s.status !== 'paid' && s.status !== 'processing')
    .map(
      (s): ScheduleRow => ({
        n: s.payment.n,
        dueDate: s.payment.dueDate as BusinessDate,
        payment: cents(s.payment.amount),
        interest: cents(s.payment.interest),
        principal: cents(s.payment.principal),
        balance: cents(0),
      }),
    );
  return payoffAmount(unpaid, 0, on);
}

/** The § 498 BGB facts of a plan. */
export function planTermination(
  plan: PlanRow,
  states: PaymentState[],
  on: BusinessDate,
  warningSentOn?: BusinessDate,
): TerminationCheck {
  const owed = new Set(owedStates(plan, states));
  return checkTerminationAllowed({
    nominalAmount: cents(
      plan.quote?.financedAmount ?? plan.payments.reduce((sum, p) => sum + p.principal, 0),
    ),
    termMonths: plan.durationMonths,
    instalments: states
      .filter((s) => s.status === 'paid' || owed.has(s))
      .map((s) => ({
        n: s.payment.n,
        dueDate: s.payment.dueDate as BusinessDate,
        amountDue: cents(s.payment.amount),
        amountPaid: cents(
          s.status === 'paid' ? s.payment.amount : Math.min(s.invoice?.amountPaid ?? 0, s.payment.amount),
        ),
      })),
    today: on,
    ...(warningSentOn ? { warningSentOn } : {}),
  });
}

/** The detail view: terms, every payment with its status, arrears, payoff today and the § 498 check. */
export function toPlanDetail(plan: PlanRow, planInvoices: PlanInvoices, on: BusinessDate): PlanDetailView {
  const states = paymentStates(plan, planInvoices, on);
  const termination = planTermination(plan, states, on);
  const overdue = owedStates(plan, states).filter((s) => s.payment.dueDate < on);
  return {
    ...toPlanView(plan, planInvoices, on),
    schedule: states.map((s) => ({
      n: s.payment.n,
      kind: s.payment.kind,
      dueDate: s.payment.dueDate,
      amount: s.payment.amount,
      interest: s.payment.interest,
      principal: s.payment.principal,
      status: s.status,
      invoiceId: s.invoice?.id ?? null,
      stripeInvoiceId: s.invoice?.stripeInvoiceId ?? null,
    })),
    arrears: {
      amount: overdue.reduce(
        (sum, s) => sum + s.payment.amount - Math.min(s.invoice?.amountPaid ?? 0, s.payment.amount),
        0,
      ),
      count: overdue.length,
      consecutiveMissed: termination.consecutiveMissed,
    },
    payoff: owesRemainingLoan(plan) ? { asOf: on, ...planPayoff(states, on) } : null,
    payoffInvoiceId: planInvoices.payoff.find((i) => i.status !== 'void')?.id ?? null,
    termination,
  };
}
