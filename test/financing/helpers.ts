import type { QuoteInput, ScheduleRow } from '../../src/financing/quote.ts';
import type { BusinessDate } from '../../src/platform/dates.ts';
import type { Cents } from '../../src/platform/money.ts';

/** Euros to cents for readable fixtures (fixture values only, never computed money). */
export const eur = (euros: number): Cents => Math.round(euros * 100) as Cents;
export const day = (value: string) => value as BusinessDate;

/** The public check case: N 50,000 €, 14 %, 120 months. */
export const publicCase: QuoteInput = {
  vehiclePrice: eur(50_000),
  downPayment: eur(0),
  termMonths: 120,
  nominalRatePercent: 14,
  balloonMode: 'separate',
  paymentTiming: 'end',
};

/**
 * Interest rule re-implemented in integers, independent of decimal.js: balance × rate / 12, rate in
 * hundredths of a percent, rounded half-up — floor((2a + b) / 2b) for a/b with a, b ≥ 0.
 */
export function monthInterest(balance: number, ratePercent: number, months: number): number {
  const basisPoints = Math.round(ratePercent * 100);
  const numerator = balance * basisPoints * months;
  const denominator = 120_000;
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

/** Month after payout of schedule row n: row n at month end is month n, at month start month n − 1. */
export const monthOfRow = (n: number, timing: 'end' | 'start') => (timing === 'start' ? n - 1 : n);

/** Replays the quoted payments month by month with the interest rule above; the balance after each row. */
export function replay(
  financedAmount: number,
  ratePercent: number,
  rows: readonly ScheduleRow[],
  timing: 'end' | 'start',
) {
  let balance = financedAmount;
  let previous = 0;
  return rows.map((row) => {
    const month = monthOfRow(row.n, timing);
    balance = balance + monthInterest(balance, ratePercent, month - previous) - row.payment;
    previous = month;
    return balance;
  });
}

/**
 * Second method for R: a plain month-by-month simulation in floating point (no closed form), and a
 * bisection for the instalment that leaves exactly nothing owed after the last payment.
 * `layout(R)` lists the payments by month after payout.
 */
export function solveInstalmentBySimulation(
  financedAmount: number,
  ratePercent: number,
  layout: (instalment: number) => Map<number, number>,
): number {
  const i = ratePercent / 1200;
  const endBalance = (instalment: number) => {
    const payments = layout(instalment);
    const lastMonth = Math.max(...payments.keys());
    let balance = financedAmount - (payments.get(0) ?? 0);
    for (let month = 1; month <= lastMonth; month++) balance = balance * (1 + i) - (payments.get(month) ?? 0);
    return balance;
  };
  let lo = 0;
  let hi = financedAmount;
  for (let step = 0; step < 200; step++) {
    const mid = (lo + hi) / 2;
    if (endBalance(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Equal payments of R in the given months plus extra amounts, as a month → amount map. */
export function layoutOf(instalmentMonths: number[], extras: Array<[number, number]>) {
  return (instalment: number) => {
    const map = new Map<number, number>(instalmentMonths.map((m) => [m, instalment]));
    for (const [month, amount] of extras) map.set(month, (map.get(month) ?? 0) + amount);
    return map;
  };
}

export const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
