import type { BusinessDate } from '../platform/dates.ts';
import { type Cents, cents, sumCents } from '../platform/money.ts';
import { QuoteInputError } from './errors.ts';
import type { ScheduleRow } from './quote.ts';

/** What paying the whole loan off today costs, split as a payoff letter shows it. */
export interface PayoffAmount {
  /** Balance left after the paid instalments. */
  remainingPrincipal: Cents;
  /** Interest parts of instalments already due (dueDate ≤ asOf) but not among the paid ones. */
  overdueInterest: Cents;
  total: Cents;
}

/**
 * Early payoff (vorzeitige Rückzahlung): the remaining principal after the first `paidInstalments`
 * rows, plus interest already earned in instalments that fell due unpaid. No interest for the days
 * since the last due date and no Vorfälligkeitsentschädigung (§ 502 BGB) are charged: paying off
 * ends the loan at the principal, in the buyer's favour. Rows without a due date never count as due.
 */
export function payoffAmount(
  schedule: readonly ScheduleRow[],
  paidInstalments: number,
  asOf: BusinessDate,
): PayoffAmount {
  if (!Number.isInteger(paidInstalments) || paidInstalments < 0 || paidInstalments > schedule.length) {
    throw new QuoteInputError('paidInstalments', `must be a whole number from 0 to ${schedule.length}`);
  }
  const lastPaid = schedule[paidInstalments - 1];
  const remainingPrincipal = lastPaid
    ? lastPaid.balance
    : cents(sumCents(schedule.map((row) => row.principal)));
  const overdueInterest = sumCents(
    schedule
      .slice(paidInstalments)
      .filter((row) => row.dueDate !== null && row.dueDate <= asOf)
      .map((row) => row.interest),
  );
  return { remainingPrincipal, overdueInterest, total: cents(remainingPrincipal + overdueInterest) };
}
