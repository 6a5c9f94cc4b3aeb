/**
 * Annuity and amortisation schedule. Time is counted in whole months after the payout
 * (month 0 = the day the loan is paid out); FINANCING.md's formulas are the closed forms of
 * "present value of the payments = financed amount" for the month layouts below.
 */
import { Decimal } from 'decimal.js';
import { type Cents, cents, roundHalfUpToCents } from '../platform/money.ts';

/** When the payments of a plan fall, in months after the payout. */
export interface PaymentPlan {
  /** Month of the first equal instalment: 1 when paid at month end, 0 at month start. */
  firstMonth: number;
  /** How many equal instalments there are. */
  regularCount: number;
  /** Month of the balloon (Schlussrate); meaningless when the balloon is 0. */
  balloonMonth: number;
}

/** One payment of the plan with the part of it that is interest and the balance left after it. */
export interface AmortisationRow {
  /** Months after the payout. */
  month: number;
  payment: Cents;
  interest: Cents;
  principal: Cents;
  balance: Cents;
}

/**
 * Lays out the months. A separate balloon is due at the end of the term (month n), also when the
 * instalments are paid at month start: that is the layout behind the public check value 652.92 =
 * 660.53 / (1 + i). A balloon that *is* the last instalment is due when instalment n would be.
 */
export function paymentPlan(
  termMonths: number,
  timing: 'end' | 'start',
  balloonMode: 'separate' | 'last_instalment',
  balloon: number,
): PaymentPlan {
  const firstMonth = timing === 'start' ? 0 : 1;
  const balloonIsLastInstalment = balloon > 0 && balloonMode === 'last_instalment';
  return {
    firstMonth,
    regularCount: balloonIsLastInstalment ? termMonths - 1 : termMonths,
    balloonMonth: balloonIsLastInstalment ? firstMonth + termMonths - 1 : termMonths,
  };
}

/** Monthly rate i = p / 12 as a fraction (5.99 % → 0.0049916…). */
export function monthlyRate(nominalRatePercent: number): Decimal {
  return new Decimal(nominalRatePercent).div(1200);
}

/**
 * The exact (unrounded) equal instalment R: (N − B·v^tB) / Σ v^t over the instalment months, v = 1/(1+i).
 * For month-end payments this is FINANCING.md's R; for month-start payments it is R / (1 + i).
 */
export function exactInstalment(
  financedAmount: number,
  balloon: number,
  plan: PaymentPlan,
  nominalRatePercent: number,
): Decimal {
  const i = monthlyRate(nominalRatePercent);
  if (i.isZero()) return new Decimal(financedAmount - balloon).div(plan.regularCount);
  const v = Decimal.div(1, i.plus(1));
  const balloonPresentValue = v.pow(plan.balloonMonth).times(balloon);
  // Σ_{k=0}^{m-1} v^(first+k) = v^first · (1 − v^m)(1 + i) / i
  const annuityFactor = v
    .pow(plan.firstMonth)
    .times(Decimal.sub(1, v.pow(plan.regularCount)))
    .times(i.plus(1))
    .div(i);
  return new Decimal(financedAmount).minus(balloonPresentValue).div(annuityFactor);
}

/**
 * The scheduled payments by month: the equal instalment in each instalment month, the balloon added
 * in its month (a separate balloon at month-end timing shares month n with the last instalment).
 */
export function scheduledPayments(
  plan: PaymentPlan,
  instalment: Cents,
  balloon: number,
): Map<number, number> {
  const byMonth = new Map<number, number>();
  for (let k = 0; k < plan.regularCount; k++) byMonth.set(plan.firstMonth + k, instalment);
  if (balloon > 0) byMonth.set(plan.balloonMonth, (byMonth.get(plan.balloonMonth) ?? 0) + balloon);
  return byMonth;
}

/**
 * Runs the loan account month by month. Interest for a row is balance × i × (months since the
 * previous payment), rounded half-up to the cent on its own; the last row pays whatever balance
 * is left plus its interest. So Σ principal = financed amount and the balance ends at 0 exactly,
 * and the last payment absorbs both the rounding of R and the rounding of each month's interest.
 */
export function amortise(
  financedAmount: number,
  payments: Map<number, number>,
  nominalRatePercent: number,
): AmortisationRow[] {
  const months = [...payments.keys()].sort((a, b) => a - b);
  const rate = new Decimal(nominalRatePercent);
  const rows: AmortisationRow[] = [];
  let balance = financedAmount;
  let previousMonth = 0;
  months.forEach((month, index) => {
    // Multiply before dividing so an exact half cent stays exact and rounds up.
    const interest = roundHalfUpToCents(
      new Decimal(balance)
        .times(rate)
        .times(month - previousMonth)
        .div(1200),
    );
    const isLast = index === months.length - 1;
    const payment = isLast ? balance + interest : (payments.get(month) ?? 0);
    const principal = payment - interest;
    balance -= principal;
    rows.push({
      month,
      payment: cents(payment),
      interest,
      principal: cents(principal),
      balance: cents(balance),
    });
    previousMonth = month;
  });
  return rows;
}
