/**
 * What a financing plan collects, and how: pure functions from a rate or a quote to the plan's payments,
 * the phases of the Stripe subscription schedule, and the instalment an invoice period stands for.
 */
import { addMonths, type BusinessDate, daysBetween } from '../platform/dates.ts';
import type { Quote, QuoteInput } from './quote.ts';
import { paymentPlan } from './schedule.ts';
import type { PlannedPayment } from './schema.ts';

/** The fixed terms of a plan. */
export interface PlanTerms {
  monthlyRate: number;
  durationMonths: number;
  /** Instalments (n = 1…M) then, if any, the balloon (n = M + 1). */
  payments: PlannedPayment[];
}

/** One phase of the subscription schedule: `months` monthly invoices of `amount`. */
export interface CollectionPhase {
  amount: number;
  months: number;
}

/** Due date of instalment n (1-based) of a plan starting on `start`, keeping its day (31 Jan → 28 Feb → 31 Mar). */
export function instalmentDueDate(start: BusinessDate, n: number): BusinessDate {
  return addMonths(start, n - 1, Number(start.slice(8, 10)));
}

/** A plain plan: `months` instalments of `rate`, no interest split (the rate is all principal). */
export function termsFromRate(rate: number, months: number, start: BusinessDate): PlanTerms {
  const payments = Array.from({ length: months }, (_, k) => ({
    n: k + 1,
    kind: 'instalment' as const,
    dueDate: instalmentDueDate(start, k + 1),
    amount: rate,
    interest: 0,
    principal: rate,
  }));
  return { monthlyRate: rate, durationMonths: months, payments };
}

/**
 * A plan from a quote calculated with `firstPaymentDate` = the start date. Stripe collects every schedule
 * row except the balloon: the last row's rounding difference stays an instalment (a one-month phase of its
 * own), a balloon that shares the last row (separate, month end) is split off it, and a row that is only
 * the balloon (balloon as last instalment, or separate at month start) is left to us entirely. The
 * balloon is invoiced by us, payable by bank transfer, due on its row's date.
 */
export function termsFromQuote(quote: Quote, input: QuoteInput): PlanTerms {
  const balloon = input.balloon ?? 0;
  const layout = paymentPlan(input.termMonths, input.paymentTiming, input.balloonMode, balloon);
  const balloonRowAlone = balloon > 0 && layout.balloonMonth >= layout.firstMonth + layout.regularCount;
  const payments: PlannedPayment[] = [];
  let balloonPayment: Omit<PlannedPayment, 'n' | 'kind'> | undefined;
  quote.schedule.forEach((row, index) => {
    const dueDate = row.dueDate as string;
    const isLast = index === quote.schedule.length - 1;
    if (isLast && balloonRowAlone) {
      balloonPayment = { dueDate, amount: row.payment, interest: row.interest, principal: row.principal };
      return;
    }
    if (isLast && balloon > 0) {
      // Interest is paid first: the instalment part carries the row's interest, the balloon is principal.
      const part = row.payment - balloon;
      const interest = Math.min(row.interest, part);
      payments.push({
        n: payments.length + 1,
        kind: 'instalment',
        dueDate,
        amount: part,
        interest,
        principal: part - interest,
      });
      balloonPayment = {
        dueDate,
        amount: balloon,
        interest: row.interest - interest,
        principal: balloon - (row.interest - interest),
      };
      return;
    }
    payments.push({
      n: payments.length + 1,
      kind: 'instalment',
      dueDate,
      amount: row.payment,
      interest: row.interest,
      principal: row.principal,
    });
  });
  if (balloonPayment) payments.push({ n: payments.length + 1, kind: 'balloon', ...balloonPayment });
  return { monthlyRate: quote.monthlyRate, durationMonths: input.termMonths, payments };
}

/** The instalments Stripe collects, as schedule phases of equal amounts (e.g. 59 × R, then 1 × R'). */
export function collectionPhases(payments: readonly PlannedPayment[]): CollectionPhase[] {
  const phases: CollectionPhase[] = [];
  for (const payment of payments) {
    if (payment.kind !== 'instalment') continue;
    const last = phases.at(-1);
    if (last && last.amount === payment.amount) last.months++;
    else phases.push({ amount: payment.amount, months: 1 });
  }
  return phases;
}

/** The same payments moved to a later start date (the buyer gave the payment method after it had passed). */
export function movedToStart(
  payments: readonly PlannedPayment[],
  from: BusinessDate,
  to: BusinessDate,
): PlannedPayment[] {
  return payments.map((payment) => ({
    ...payment,
    dueDate: instalmentDueDate(to, monthsBetween(from, payment.dueDate as BusinessDate) + 1),
  }));
}

/** The balloon of a plan, if it has one. */
export function balloonOf(payments: readonly PlannedPayment[]): PlannedPayment | undefined {
  return payments.find((payment) => payment.kind === 'balloon');
}

/** Whole calendar months from `from` to `to` by year and month (days ignored: periods keep the start's day). */
export function monthsBetween(from: BusinessDate, to: BusinessDate): number {
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  return (ty - fy) * 12 + (tm - fm);
}

/**
 * The instalment a subscription invoice bills: the one whose due date is nearest to the first day of the
 * period it is for (Stripe counts months in UTC, so a period may start a day off our Berlin due date).
 */
export function instalmentNumberOf(payments: readonly PlannedPayment[], periodStart: BusinessDate): number {
  let best: { n: number; distance: number } | undefined;
  for (const payment of payments) {
    if (payment.kind !== 'instalment') continue;
    const distance = Math.abs(daysBetween(payment.dueDate as BusinessDate, periodStart));
    if (!best || distance < best.distance) best = { n: payment.n, distance };
  }
  return best?.n ?? 1;
}

/**
 * The instant Stripe should start a plan due on `date`: 00:00 UTC of that day (01:00 or 02:00 in Berlin).
 * Stripe counts monthly periods in UTC from the start's day of month; 00:00 Berlin would be the previous
 * UTC day, and periods would then fall on the previous Berlin day in some months (the 1st on the 30th or
 * 31st). 00:00 UTC keeps every period on its Berlin due date, month-end clamping included.
 */
export function stripeStartOf(date: BusinessDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / 1000;
}
