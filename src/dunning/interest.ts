/**
 * Default interest (Verzugszinsen, § 288 BGB) and the business flat fee (Verzugspauschale).
 *
 * When default begins (§ 286 Abs. 2 Nr. 1 BGB): our invoices say "zahlbar bis <Datum>", a payment
 * date fixed by the calendar, so the buyer is in default from the day after that date without any
 * reminder. Interest therefore runs from the day after the due date (`defaultStartForDueDate`).
 *
 * Day count: actual days / 365, also in leap years, as GERMAN-LAW.md states.
 * `until` is inclusive: it is the last day interest accrues, so "01.06.2025 bis 31.08.2025" in a
 * letter counts both named days, the way a reader counts them.
 * Rounding: each period is rounded half-up to the cent on its own, and the total is the sum of the
 * rounded periods, so the lines printed in a letter add up exactly to the total printed below them.
 */
import { Decimal } from 'decimal.js';
import { addDays, type BusinessDate, compareDates, daysBetween } from '../platform/dates.ts';
import { type Cents, cents, roundHalfUpToCents, sumCents } from '../platform/money.ts';
import { type BaseRateTable, baseRateSegments, DEFAULT_BASE_RATE_TABLE } from './base-rates.ts';
import { InvalidDunningInputError } from './errors.ts';

/** Consumer (Verbraucher) or business (Unternehmer) debtor; § 288 BGB treats them differently. */
export type DebtorType = 'consumer' | 'business';

/** All debtor types, for schemas. */
export const DEBTOR_TYPES = ['consumer', 'business'] as const satisfies readonly DebtorType[];

/** Percentage points above the base rate: § 288 Abs. 1 (consumer) and Abs. 2 (business) BGB. */
export const INTEREST_MARGIN_POINTS: Readonly<Record<DebtorType, number>> = { consumer: 5, business: 9 };

/** The € 40 Verzugspauschale of § 288 Abs. 5 BGB, owed by business debtors once per claim. */
export const BUSINESS_FLAT_FEE_CENTS: Cents = cents(4000);

const DAYS_PER_YEAR = 365;

/** Something a human should know about a calculation before it goes out in a letter. */
export type InterestFlag =
  /** Some days lie past the base-rate table; they were computed with its last rate. */
  | 'base_rate_beyond_table'
  /** Base rate plus margin was below zero for some days; those days carry no interest. */
  | 'negative_rate_floored';

/** One run of days at one rate; `from` and `to` are both inclusive. */
export interface InterestPeriod {
  from: BusinessDate;
  to: BusinessDate;
  days: number;
  baseRatePercent: number;
  /** Base rate plus margin: the yearly rate applied. */
  ratePercent: number;
  amount: Cents;
  /** True when the base rate of these days is not yet in the table (the last known one was used). */
  beyondTable: boolean;
}

/** Interest itemised per base-rate period. */
export interface DefaultInterest {
  total: Cents;
  periods: InterestPeriod[];
  flags: InterestFlag[];
}

/** Input of `calculateDefaultInterest`. */
export interface DefaultInterestInput {
  /** The open amount that bears interest, in cents. */
  principal: Cents;
  /** First day interest runs (the first day of default). */
  defaultStart: BusinessDate;
  /** Last day interest runs, inclusive. Earlier than `defaultStart` means no interest yet. */
  until: BusinessDate;
  debtorType: DebtorType;
  /** The base-rate table; the shipped one when omitted. */
  table?: BaseRateTable;
}

/** First day of default and interest for an invoice payable by a calendar date: the day after it. */
export function defaultStartForDueDate(dueDate: BusinessDate): BusinessDate {
  return addDays(dueDate, 1);
}

/** Default interest per § 288 BGB, split at every base-rate change and rounded per period. */
export function calculateDefaultInterest(input: DefaultInterestInput): DefaultInterest {
  const { principal, defaultStart, until, debtorType } = input;
  const table = input.table ?? DEFAULT_BASE_RATE_TABLE;
  if (!Number.isSafeInteger(principal) || principal < 0) {
    throw new InvalidDunningInputError('principal must be a non-negative number of cents', [
      { path: 'principal', message: `not a non-negative integer: ${principal}` },
    ]);
  }
  if (principal === 0 || compareDates(until, defaultStart) < 0) {
    return { total: cents(0), periods: [], flags: [] };
  }

  const margin = INTEREST_MARGIN_POINTS[debtorType];
  const flags = new Set<InterestFlag>();
  const periods = baseRateSegments(table, defaultStart, until).map((segment): InterestPeriod => {
    const days = daysBetween(segment.from, segment.to) + 1;
    const rate = new Decimal(segment.ratePercent).plus(margin);
    // A late payer is never paid for being late: a rate below zero (only thinkable with a base rate
    // under -5 %) accrues nothing.
    const applied = Decimal.max(rate, 0);
    if (rate.isNegative()) flags.add('negative_rate_floored');
    if (segment.beyondTable) flags.add('base_rate_beyond_table');
    const amount = roundHalfUpToCents(
      new Decimal(principal).times(applied).div(100).times(days).div(DAYS_PER_YEAR),
    );
    return {
      from: segment.from,
      to: segment.to,
      days,
      baseRatePercent: segment.ratePercent,
      ratePercent: rate.toNumber(),
      amount,
      beyondTable: segment.beyondTable,
    };
  });

  return { total: sumCents(periods.map((p) => p.amount)), periods, flags: [...flags] };
}

/** The € 40 flat fee for a business debtor (once per claim), 0 for a consumer. */
export function businessFlatFee(debtorType: DebtorType): Cents {
  return debtorType === 'business' ? BUSINESS_FLAT_FEE_CENTS : cents(0);
}
