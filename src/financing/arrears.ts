/**
 * § 498 BGB: when a consumer instalment loan may be called in whole (Gesamtfälligstellung).
 * All three must hold: (1) at least two consecutive instalments wholly or partly in arrears,
 * (2) arrears of at least 10 % of the nominal amount (term ≤ 3 years) or 5 % (term > 3 years),
 * (3) a two-week deadline, set with the warning that the whole debt will be demanded, has passed
 * unpaid. The grounds must already hold when the warning is sent, and still hold when calling.
 */
import { addDays, type BusinessDate, compareDates } from '../platform/dates.ts';
import { type Cents, cents, sumCents } from '../platform/money.ts';

/** One instalment of a plan as the books show it today. */
export interface InstalmentStatus {
  n: number;
  dueDate: BusinessDate;
  amountDue: Cents;
  amountPaid: Cents;
}

/** The facts § 498 BGB is judged on. */
export interface TerminationCheckInput {
  /** Nennbetrag des Darlehens: the financed amount of the quote. */
  nominalAmount: Cents;
  termMonths: number;
  instalments: readonly InstalmentStatus[];
  today: BusinessDate;
  /** Day the warning with the two-week deadline reached the buyer (Zugang); pass the receipt day if known. */
  warningSentOn?: BusinessDate;
}

/** The verdict; `reasons` are in English and list every ground that is missing. */
export interface TerminationCheck {
  allowed: boolean;
  reasons: string[];
  /** Longest run of consecutive instalments (by n) that are overdue and not fully paid. */
  consecutiveMissed: number;
  /** Unpaid amount of all overdue instalments. */
  arrears: Cents;
  thresholdPercent: 5 | 10;
  /** Smallest arrears that meet the percentage. */
  threshold: Cents;
  /** Last day of the two-week deadline (moved off a weekend per § 193 BGB). */
  warningDeadline?: BusinessDate;
  /** True when the grounds hold and no warning that counts has been sent yet. */
  canSendWarning: boolean;
}

/** Longest run of consecutive overdue instalments and the unpaid total, as of the start of `day`. */
function arrearsOn(instalments: readonly InstalmentStatus[], day: BusinessDate) {
  // An instalment paid on its due date is on time: it is in arrears from the next day (§ 286 (2) Nr. 1 BGB).
  const overdue = instalments.filter((i) => compareDates(i.dueDate, day) < 0 && i.amountPaid < i.amountDue);
  const missed = new Set(overdue.map((i) => i.n));
  let consecutive = 0;
  for (const n of missed) {
    if (missed.has(n - 1)) continue;
    let run = 1;
    while (missed.has(n + run)) run++;
    consecutive = Math.max(consecutive, run);
  }
  return { consecutive, arrears: sumCents(overdue.map((i) => i.amountDue - i.amountPaid)) };
}

/** A deadline ending on a Saturday or Sunday ends on the next Monday (§ 193 BGB; public holidays not known here). */
function nextWorkingDay(date: BusinessDate): BusinessDate {
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  if (weekday === 6) return addDays(date, 2);
  if (weekday === 0) return addDays(date, 1);
  return date;
}

/** Checks whether the whole loan may be called under § 498 BGB, and whether the warning may go out now. */
export function checkTerminationAllowed(input: TerminationCheckInput): TerminationCheck {
  const thresholdPercent = input.termMonths <= 36 ? 10 : 5;
  // A legal minimum, not a price: round up so "arrears ≥ threshold" in cents means "≥ the percentage".
  const threshold = cents(Math.ceil((input.nominalAmount * thresholdPercent) / 100));
  const meetsGrounds = (a: { consecutive: number; arrears: number }) =>
    a.consecutive >= 2 && a.arrears >= threshold;

  const now = arrearsOn(input.instalments, input.today);
  const reasons: string[] = [];
  if (now.consecutive < 2) {
    reasons.push(`${now.consecutive} consecutive instalment(s) in arrears; at least 2 are needed`);
  }
  if (now.arrears < threshold) {
    reasons.push(
      `arrears of ${now.arrears} cents are below ${threshold} cents (${thresholdPercent} % of the nominal amount)`,
    );
  }

  let warningDeadline: BusinessDate | undefined;
  let warningCounts = false;
  if (input.warningSentOn === undefined) {
    reasons.push('no warning with a two-week deadline has been sent');
  } else {
    // §§ 187, 188 BGB: the day of receipt does not count; the deadline ends with the same weekday two weeks on.
    warningDeadline = nextWorkingDay(addDays(input.warningSentOn, 14));
    // Payments only grow, so arrears computed with today's payments are a lower bound for the warning day.
    warningCounts = meetsGrounds(arrearsOn(input.instalments, input.warningSentOn));
    if (!warningCounts) {
      reasons.push(
        `the grounds did not demonstrably hold when the warning of ${input.warningSentOn} was sent; a new warning is needed`,
      );
    } else if (compareDates(input.today, warningDeadline) <= 0) {
      reasons.push(`the warning deadline runs until ${warningDeadline} inclusive`);
    }
  }

  const groundsHold = meetsGrounds(now);
  const deadlinePassed = warningDeadline !== undefined && compareDates(input.today, warningDeadline) > 0;
  return {
    allowed: groundsHold && warningCounts && deadlinePassed,
    reasons,
    consecutiveMissed: now.consecutive,
    arrears: now.arrears,
    thresholdPercent,
    threshold,
    ...(warningDeadline === undefined ? {} : { warningDeadline }),
    canSendWarning: groundsHold && !warningCounts,
  };
}
