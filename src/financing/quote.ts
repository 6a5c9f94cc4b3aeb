/**
 * A financing quote: the equal monthly instalment, the schedule and the effective yearly rate.
 * Pure: no clock, no I/O. Conventions (rounding, balloon months, totals) are in ./README.md.
 */
import { addMonths, type BusinessDate, isBusinessDate } from '../platform/dates.ts';
import { type Cents, cents, roundHalfUpToCents, sumCents } from '../platform/money.ts';
import { effectiveRatePercent } from './effective-rate.ts';
import { QuoteInputError } from './errors.ts';
import { amortise, exactInstalment, paymentPlan, scheduledPayments } from './schedule.ts';

/** Longest plan we quote, in months. */
export const MAX_TERM_MONTHS = 120;
/** Highest nominal yearly rate (Sollzins) we quote, in percent. */
export const MAX_NOMINAL_RATE_PERCENT = 30;

/** How the balloon (Schlussrate) is paid: on top of instalment n, or instead of it. */
export type BalloonMode = 'separate' | 'last_instalment';
/** Whether instalments fall at the end of each month (nachschüssig) or at its start (vorschüssig). */
export type PaymentTiming = 'end' | 'start';

/** A fee of the loan: financed ones are added to the loan, the others are paid at signing. */
export interface QuoteFee {
  amount: Cents;
  financed: boolean;
  label?: string;
}

/** What a quote is calculated from; all money in cents. */
export interface QuoteInput {
  vehiclePrice: Cents;
  downPayment: Cents;
  termMonths: number;
  /** Sollzins per year in percent, e.g. 5.99. */
  nominalRatePercent: number;
  /** Schlussrate; 0 or absent means a plain annuity (balloonMode is then irrelevant). */
  balloon?: Cents;
  balloonMode: BalloonMode;
  fees?: QuoteFee[];
  paymentTiming: PaymentTiming;
  /** Due date of the first payment; without it every dueDate in the schedule is null. */
  firstPaymentDate?: BusinessDate;
}

/** One payment of the plan. */
export interface ScheduleRow {
  /** 1-based position in the schedule. */
  n: number;
  dueDate: BusinessDate | null;
  payment: Cents;
  interest: Cents;
  principal: Cents;
  /** What is still owed after this payment. */
  balance: Cents;
}

/** The result of calculateQuote; all money in cents. */
export interface Quote {
  /** Nettodarlehensbetrag: price − down payment, what the buyer actually receives. */
  netLoanAmount: Cents;
  /** N = price − down payment + financed fees: the balance interest is charged on. */
  financedAmount: Cents;
  /** The equal instalment R (Monatsrate), rounded half-up to the cent. */
  monthlyRate: Cents;
  /** The payment of the last schedule row: balloon and rounding correction included. */
  finalPayment: Cents;
  /** Fees paid at signing, outside the schedule. */
  upfrontFees: Cents;
  totalInterest: Cents;
  /** Everything the buyer pays for the loan: Σ schedule payments + upfront fees (down payment excluded). */
  totalPayable: Cents;
  /** Effektiver Jahreszins in percent, two decimals half-up. */
  effectiveRatePercent: number;
  schedule: ScheduleRow[];
}

function requireCents(field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new QuoteInputError(field, 'must be a whole number of cents');
  }
  if (value < min) throw new QuoteInputError(field, min > 0 ? 'must be positive' : 'must not be negative');
}

function validateFields(input: QuoteInput): void {
  requireCents('vehiclePrice', input.vehiclePrice, 1);
  requireCents('downPayment', input.downPayment, 0);
  if (input.downPayment >= input.vehiclePrice) {
    throw new QuoteInputError(
      'downPayment',
      'must be less than the vehicle price: nothing would be financed',
    );
  }
  if (!Number.isInteger(input.termMonths) || input.termMonths < 1 || input.termMonths > MAX_TERM_MONTHS) {
    throw new QuoteInputError('termMonths', `must be a whole number of months from 1 to ${MAX_TERM_MONTHS}`);
  }
  const rate = input.nominalRatePercent;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > MAX_NOMINAL_RATE_PERCENT) {
    throw new QuoteInputError('nominalRatePercent', `must be from 0 to ${MAX_NOMINAL_RATE_PERCENT} percent`);
  }
  if (input.balloon !== undefined) requireCents('balloon', input.balloon, 0);
  if (input.balloonMode !== 'separate' && input.balloonMode !== 'last_instalment') {
    throw new QuoteInputError('balloonMode', "must be 'separate' or 'last_instalment'");
  }
  if (input.paymentTiming !== 'end' && input.paymentTiming !== 'start') {
    throw new QuoteInputError('paymentTiming', "must be 'end' or 'start'");
  }
  (input.fees ?? []).forEach((fee, index) => {
    requireCents(`fees.${index}.amount`, fee.amount, 0);
    if (typeof fee.financed !== 'boolean')
      throw new QuoteInputError(`fees.${index}.financed`, 'must be true or false');
  });
  if (input.firstPaymentDate !== undefined && !isBusinessDate(input.firstPaymentDate)) {
    throw new QuoteInputError('firstPaymentDate', 'must be a calendar day, YYYY-MM-DD');
  }
  if (input.paymentTiming === 'start' && input.termMonths < 2) {
    // The only instalment would fall on the payout day: the buyer would repay the loan as it is paid out.
    throw new QuoteInputError('termMonths', 'payments at month start need a term of at least 2 months');
  }
  if ((input.balloon ?? 0) > 0 && input.balloonMode === 'last_instalment' && input.termMonths < 2) {
    throw new QuoteInputError('termMonths', 'a balloon as last instalment needs a term of at least 2 months');
  }
}

/** Calculates instalment, schedule, totals and effective rate of a vehicle financing; throws QuoteInputError. */
export function calculateQuote(input: QuoteInput): Quote {
  validateFields(input);
  const fees = input.fees ?? [];
  const balloon = input.balloon ?? 0;
  const upfrontFees = sumCents(fees.filter((f) => !f.financed).map((f) => f.amount));
  const netLoanAmount = cents(input.vehiclePrice - input.downPayment);
  const financedAmount = cents(netLoanAmount + sumCents(fees.filter((f) => f.financed).map((f) => f.amount)));

  if (balloon >= financedAmount) {
    throw new QuoteInputError('balloon', 'must be less than the financed amount');
  }

  const plan = paymentPlan(input.termMonths, input.paymentTiming, input.balloonMode, balloon);
  const monthlyRate = roundHalfUpToCents(
    exactInstalment(financedAmount, balloon, plan, input.nominalRatePercent),
  );
  const rows = amortise(
    financedAmount,
    scheduledPayments(plan, monthlyRate, balloon),
    input.nominalRatePercent,
  );

  // B < N makes the exact R exceed the first month's interest; only cent rounding on tiny amounts can
  // still stall the balance or pay it off before the last row, so check the rounded schedule itself.
  const stalls = rows.some(
    (row, index) => row.principal <= 0 || (index < rows.length - 1 && row.balance <= 0),
  );
  if (stalls) {
    throw new QuoteInputError(
      balloon > 0 ? 'balloon' : 'termMonths',
      balloon > 0
        ? 'is too large: the instalments would not pay the loan down'
        : 'is too long for this amount: whole-cent instalments would not pay the loan down evenly',
    );
  }

  const payments = rows.map((row) => ({ month: row.month, amount: row.payment }));
  const paidAtPayout = upfrontFees + payments.filter((p) => p.month === 0).reduce((s, p) => s + p.amount, 0);
  if (paidAtPayout >= netLoanAmount) {
    throw new QuoteInputError(
      'fees',
      'what is due at payout reaches the amount lent: no effective rate exists',
    );
  }

  const first = input.firstPaymentDate;
  const anchorDay = first === undefined ? undefined : Number(first.slice(8, 10));
  const schedule = rows.map((row, index) => ({
    n: index + 1,
    dueDate: first === undefined ? null : addMonths(first, row.month - plan.firstMonth, anchorDay),
    payment: row.payment,
    interest: row.interest,
    principal: row.principal,
    balance: row.balance,
  }));

  const paidInSchedule = sumCents(rows.map((r) => r.payment));
  return {
    netLoanAmount,
    financedAmount,
    monthlyRate,
    finalPayment: rows[rows.length - 1]!.payment,
    upfrontFees,
    totalInterest: sumCents(rows.map((r) => r.interest)),
    totalPayable: cents(paidInSchedule + upfrontFees),
    effectiveRatePercent: effectiveRatePercent(
      netLoanAmount,
      [{ month: 0, amount: upfrontFees }, ...payments],
      input.nominalRatePercent,
    ),
    schedule,
  };
}
