import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_RATE_TABLE, loadBaseRateTable } from '../../src/dunning/base-rates.ts';
import { BaseRateUnknownError } from '../../src/dunning/errors.ts';
import {
  businessFlatFee,
  calculateDefaultInterest,
  defaultStartForDueDate,
} from '../../src/dunning/interest.ts';
import { addDays, parseBusinessDate as d, daysBetween } from '../../src/platform/dates.ts';
import { cents } from '../../src/platform/money.ts';

const table = DEFAULT_BASE_RATE_TABLE;
const hundredThousandEuros = cents(10_000_000);

describe('calculateDefaultInterest', () => {
  it('splits a consumer claim at the 1 July base-rate change (hand computation)', () => {
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2025-06-01'),
      until: d('2025-08-31'),
      debtorType: 'consumer',
      table,
    });
    // June: 30 days at 2.27 + 5 = 7.27 %: 10,000,000 × 0.0727 × 30 / 365 = 59,753.42… → 59,753 cents.
    // July–August: 62 days at 1.27 + 5 = 6.27 %: 10,000,000 × 0.0627 × 62 / 365 = 106,504.11… → 106,504.
    expect(result.periods).toEqual([
      {
        from: '2025-06-01',
        to: '2025-06-30',
        days: 30,
        baseRatePercent: 2.27,
        ratePercent: 7.27,
        amount: 59_753,
        beyondTable: false,
      },
      {
        from: '2025-07-01',
        to: '2025-08-31',
        days: 62,
        baseRatePercent: 1.27,
        ratePercent: 6.27,
        amount: 106_504,
        beyondTable: false,
      },
    ]);
    expect(result.total).toBe(59_753 + 106_504);
    expect(result.flags).toEqual([]);
  });

  it('adds 9 points for a business debtor', () => {
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2025-06-01'),
      until: d('2025-08-31'),
      debtorType: 'business',
      table,
    });
    // 11.27 %: 10,000,000 × 0.1127 × 30 / 365 = 92,630.14…; 10.27 %: × 62 / 365 = 174,449.32…
    expect(result.periods.map((p) => [p.ratePercent, p.amount])).toEqual([
      [11.27, 92_630],
      [10.27, 174_449],
    ]);
    expect(result.total).toBe(267_079);
  });

  it('counts `until` as the last interest day', () => {
    const oneDay = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2025-08-01'),
      until: d('2025-08-01'),
      debtorType: 'consumer',
      table,
    });
    // 10,000,000 × 0.0627 / 365 = 1,717.81… → 1,718 cents for the single day.
    expect(oneDay.periods[0]?.days).toBe(1);
    expect(oneDay.total).toBe(1_718);
  });

  it('owes nothing before default starts', () => {
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2025-08-02'),
      until: d('2025-08-01'),
      debtorType: 'consumer',
      table,
    });
    expect(result).toEqual({ total: 0, periods: [], flags: [] });
  });

  it('flags the days past the table and computes them with the last rate on a line of their own', () => {
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2026-06-01'),
      until: d('2026-07-31'),
      debtorType: 'consumer',
      table,
    });
    expect(result.flags).toEqual(['base_rate_beyond_table']);
    expect(result.periods.map((p) => [p.from, p.to, p.ratePercent, p.beyondTable])).toEqual([
      ['2026-06-01', '2026-06-30', 6.27, false],
      ['2026-07-01', '2026-07-31', 6.27, true],
    ]);
  });

  it('uses an entry added to the table data without any code change', () => {
    const extended = loadBaseRateTable([...table.entries, { from: '2026-07-01', ratePercent: 2 }]);
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2026-07-01'),
      until: d('2026-07-31'),
      debtorType: 'consumer',
      table: extended,
    });
    // 7.00 %: 10,000,000 × 0.07 × 31 / 365 = 59,452.05… → 59,452.
    expect(result.flags).toEqual([]);
    expect(result.periods.map((p) => [p.ratePercent, p.amount])).toEqual([[7, 59_452]]);
  });

  it('handles a negative base rate', () => {
    const historic = loadBaseRateTable([
      { from: '2022-07-01', ratePercent: -0.88 },
      { from: '2023-01-01', ratePercent: 1.62 },
    ]);
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2022-12-01'),
      until: d('2023-01-31'),
      debtorType: 'consumer',
      table: historic,
    });
    // 4.12 %: 10,000,000 × 0.0412 × 31 / 365 = 34,991.78… → 34,992; 6.62 %: × 31 / 365 = 56,224.66… → 56,225.
    expect(result.periods.map((p) => [p.baseRatePercent, p.ratePercent, p.amount])).toEqual([
      [-0.88, 4.12, 34_992],
      [1.62, 6.62, 56_225],
    ]);
  });

  it('floors a rate below zero to no interest and says so', () => {
    const deflation = loadBaseRateTable([{ from: '2020-01-01', ratePercent: -6 }]);
    const result = calculateDefaultInterest({
      principal: hundredThousandEuros,
      defaultStart: d('2020-03-01'),
      until: d('2020-03-10'),
      debtorType: 'consumer',
      table: deflation,
    });
    expect(result.total).toBe(0);
    expect(result.flags).toContain('negative_rate_floored');
  });

  it('rounds each period half-up to the cent', () => {
    const zero = loadBaseRateTable([{ from: '2020-01-01', ratePercent: 0 }]);
    const oneDay = { defaultStart: d('2020-03-02'), until: d('2020-03-02'), debtorType: 'consumer' as const };
    // 3,650 × 5 % / 365 = 0.5 cent exactly → 1; 18,250 × 5 % / 365 = 2.5 → 3 (not banker's 2).
    expect(calculateDefaultInterest({ ...oneDay, principal: cents(3_650), table: zero }).total).toBe(1);
    expect(calculateDefaultInterest({ ...oneDay, principal: cents(18_250), table: zero }).total).toBe(3);
    expect(calculateDefaultInterest({ ...oneDay, principal: cents(3_649), table: zero }).total).toBe(0);
  });

  it('refuses a start before the table', () => {
    expect(() =>
      calculateDefaultInterest({
        principal: hundredThousandEuros,
        defaultStart: d('2022-12-01'),
        until: d('2023-01-31'),
        debtorType: 'consumer',
        table,
      }),
    ).toThrow(BaseRateUnknownError);
  });

  it('periods cover every day once, and the total is the sum of the printed lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_200 }),
        fc.integer({ min: 0, max: 900 }),
        fc.integer({ min: 1, max: 80_000_000 }),
        fc.constantFrom('consumer' as const, 'business' as const),
        (startOffset, length, principal, debtorType) => {
          const defaultStart = addDays(d('2023-01-01'), startOffset);
          const until = addDays(defaultStart, length);
          const result = calculateDefaultInterest({
            principal: cents(principal),
            defaultStart,
            until,
            debtorType,
            table,
          });
          expect(result.periods.reduce((s, p) => s + p.days, 0)).toBe(daysBetween(defaultStart, until) + 1);
          expect(result.periods[0]?.from).toBe(defaultStart);
          expect(result.periods.at(-1)?.to).toBe(until);
          result.periods.slice(1).forEach((p, i) => {
            expect(p.from).toBe(addDays(result.periods[i]!.to, 1));
          });
          expect(result.total).toBe(result.periods.reduce((s, p) => s + p.amount, 0));
        },
      ),
    );
  });
});

describe('default start and flat fee', () => {
  it('starts default the day after a calendar due date', () => {
    expect(defaultStartForDueDate(d('2025-03-15'))).toBe('2025-03-16');
    expect(defaultStartForDueDate(d('2025-12-31'))).toBe('2026-01-01');
  });

  it('charges the € 40 flat fee to businesses only', () => {
    expect(businessFlatFee('business')).toBe(4_000);
    expect(businessFlatFee('consumer')).toBe(0);
  });
});
