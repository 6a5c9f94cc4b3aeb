/**
 * The base rate (Basiszinssatz, § 247 BGB) as a dated table. The table is data: new values are
 * appended to base-rates.json (or passed in) every 1 Jan / 1 Jul, no code change needed.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { addDays, addMonths, type BusinessDate, compareDates, isBusinessDate } from '../platform/dates.ts';
import shippedEntries from './base-rates.json' with { type: 'json' };
import { BaseRateUnknownError, InvalidBaseRateTableError, issuesFromZod } from './errors.ts';

/** One published base rate and the day it takes effect. */
export interface BaseRateEntry {
  readonly from: BusinessDate;
  readonly ratePercent: number;
}

/** A validated, sorted base-rate table; only `loadBaseRateTable` makes one. */
export type BaseRateTable = {
  readonly entries: readonly BaseRateEntry[];
  /** First day the table no longer knows: six months after the last entry. */
  readonly knownUntil: BusinessDate;
} & { readonly __brand: 'BaseRateTable' };

/** The base rate on one day, and whether that day lies past what the table knows. */
export interface BaseRateOnDate {
  ratePercent: number;
  /** The `from` of the entry used. */
  from: BusinessDate;
  beyondTable: boolean;
}

/** A run of days `from`..`to` (inclusive) with one base rate. */
export interface BaseRateSegment {
  from: BusinessDate;
  to: BusinessDate;
  ratePercent: number;
  /** The `from` of the table entry the rate comes from. */
  rateFrom: BusinessDate;
  beyondTable: boolean;
}

/** § 247 BGB adjusts the base rate every half-year, so one entry is known to hold for six months. */
const MONTHS_AN_ENTRY_HOLDS = 6;

const entrySchema = z.object({
  from: z.string().refine(isBusinessDate, 'must be a calendar day YYYY-MM-DD'),
  ratePercent: z
    .number()
    .finite()
    // Catches a typo like 162 for 1.62; the German base rate has stayed between -1 % and 5 %.
    .min(-10, 'implausible base rate (percent, e.g. 1.27)')
    .max(20, 'implausible base rate (percent, e.g. 1.27)')
    .refine((v) => new Decimal(v).decimalPlaces() <= 2, 'the Bundesbank publishes two decimals'),
});

const tableSchema = z
  .array(entrySchema)
  .min(1, 'the table needs at least one entry')
  .superRefine((entries, ctx) => {
    for (let i = 1; i < entries.length; i++) {
      const prev = entries[i - 1]!;
      const cur = entries[i]!;
      if (cur.from <= prev.from) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'from'],
          message: `must be later than the previous entry (${prev.from}): sorted, one entry per date`,
        });
      }
    }
  });

/** Validates table entries (default: the shipped base-rates.json); throws InvalidBaseRateTableError. */
export function loadBaseRateTable(entries: unknown = shippedEntries): BaseRateTable {
  const parsed = tableSchema.safeParse(entries);
  if (!parsed.success) {
    throw new InvalidBaseRateTableError('invalid base-rate table', issuesFromZod(parsed.error.issues));
  }
  const sorted = parsed.data.map((e) => ({ from: e.from as BusinessDate, ratePercent: e.ratePercent }));
  const last = sorted[sorted.length - 1]!;
  return Object.freeze({
    entries: Object.freeze(sorted),
    knownUntil: addMonths(last.from, MONTHS_AN_ENTRY_HOLDS),
  }) as BaseRateTable;
}

/** The shipped table, validated once at import. */
export const DEFAULT_BASE_RATE_TABLE: BaseRateTable = loadBaseRateTable();

function entryIndexOn(table: BaseRateTable, date: BusinessDate): number {
  let found = -1;
  for (let i = 0; i < table.entries.length; i++) {
    if (compareDates(table.entries[i]!.from, date) <= 0) found = i;
    else break;
  }
  if (found < 0) {
    throw new BaseRateUnknownError(
      `no base rate known for ${date}; the table starts on ${table.entries[0]!.from}`,
      [{ path: 'date', message: `before the first base-rate entry ${table.entries[0]!.from}` }],
    );
  }
  return found;
}

/** The base rate valid on `date`; past the table, the last entry with `beyondTable: true`. */
export function baseRateOn(table: BaseRateTable, date: BusinessDate): BaseRateOnDate {
  const entry = table.entries[entryIndexOn(table, date)]!;
  return {
    ratePercent: entry.ratePercent,
    from: entry.from,
    beyondTable: compareDates(date, table.knownUntil) >= 0,
  };
}

/**
 * Splits the days `from`..`to` (both inclusive) at every base-rate change. Past the table it also
 * splits every six months, so the days computed with a stale rate are a line of their own that a
 * later table update replaces without touching the rest.
 */
export function baseRateSegments(
  table: BaseRateTable,
  from: BusinessDate,
  to: BusinessDate,
): BaseRateSegment[] {
  if (compareDates(to, from) < 0) return [];
  const segments: BaseRateSegment[] = [];
  let start = from;
  while (compareDates(start, to) <= 0) {
    const rate = baseRateOn(table, start);
    const nextChange = nextBoundaryAfter(table, start);
    const end = compareDates(addDays(nextChange, -1), to) < 0 ? addDays(nextChange, -1) : to;
    segments.push({
      from: start,
      to: end,
      ratePercent: rate.ratePercent,
      rateFrom: rate.from,
      beyondTable: rate.beyondTable,
    });
    start = addDays(end, 1);
  }
  return segments;
}

function nextBoundaryAfter(table: BaseRateTable, date: BusinessDate): BusinessDate {
  for (const entry of table.entries) {
    if (compareDates(entry.from, date) > 0) return entry.from;
  }
  // Counted from the last entry each time, so month-end clamping never drifts.
  const last = table.entries[table.entries.length - 1]!;
  for (let halfYears = 1; ; halfYears++) {
    const boundary = addMonths(last.from, halfYears * MONTHS_AN_ENTRY_HOLDS);
    if (compareDates(boundary, date) > 0) return boundary;
  }
}
