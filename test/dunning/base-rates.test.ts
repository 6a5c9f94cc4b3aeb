import { describe, expect, it } from 'vitest';
import {
  baseRateOn,
  baseRateSegments,
  DEFAULT_BASE_RATE_TABLE,
  loadBaseRateTable,
} from '../../src/dunning/base-rates.ts';
import { BaseRateUnknownError, InvalidBaseRateTableError } from '../../src/dunning/errors.ts';
import { parseBusinessDate as d } from '../../src/platform/dates.ts';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidBaseRateTableError) return [...err.details];
    throw err;
  }
  throw new Error('expected InvalidBaseRateTableError');
}

describe('base-rate table', () => {
  it('ships the Bundesbank values from GERMAN-LAW.md', () => {
    expect(DEFAULT_BASE_RATE_TABLE.entries.map((e) => [e.from, e.ratePercent])).toEqual([
      ['2023-01-01', 1.62],
      ['2023-07-01', 3.12],
      ['2024-01-01', 3.62],
      ['2024-07-01', 3.37],
      ['2025-01-01', 2.27],
      ['2025-07-01', 1.27],
      ['2026-01-01', 1.27],
    ]);
  });

  it('switches rate on the first day of the half-year, not a day early or late', () => {
    expect(baseRateOn(DEFAULT_BASE_RATE_TABLE, d('2025-06-30'))).toEqual({
      ratePercent: 2.27,
      from: '2025-01-01',
      beyondTable: false,
    });
    expect(baseRateOn(DEFAULT_BASE_RATE_TABLE, d('2025-07-01')).ratePercent).toBe(1.27);
  });

  it('uses the last entry past the table and flags it, but not within the last known half-year', () => {
    expect(baseRateOn(DEFAULT_BASE_RATE_TABLE, d('2026-06-30')).beyondTable).toBe(false);
    expect(baseRateOn(DEFAULT_BASE_RATE_TABLE, d('2026-07-01'))).toEqual({
      ratePercent: 1.27,
      from: '2026-01-01',
      beyondTable: true,
    });
  });

  it('is extended by data alone: an added entry ends the flag', () => {
    const table = loadBaseRateTable([
      ...DEFAULT_BASE_RATE_TABLE.entries,
      { from: '2026-07-01', ratePercent: 1.52 },
    ]);
    expect(baseRateOn(table, d('2026-08-15'))).toEqual({
      ratePercent: 1.52,
      from: '2026-07-01',
      beyondTable: false,
    });
  });

  it('refuses a day before the first entry', () => {
    expect(() => baseRateOn(DEFAULT_BASE_RATE_TABLE, d('2022-12-31'))).toThrow(BaseRateUnknownError);
  });

  it('names the entry that is out of order or duplicated', () => {
    const unsorted = [
      { from: '2024-01-01', ratePercent: 3.62 },
      { from: '2023-07-01', ratePercent: 3.12 },
    ];
    expect(issuesOf(() => loadBaseRateTable(unsorted))[0]?.path).toBe('1.from');
    const duplicate = [
      { from: '2024-01-01', ratePercent: 3.62 },
      { from: '2024-01-01', ratePercent: 3.37 },
    ];
    expect(issuesOf(() => loadBaseRateTable(duplicate))[0]?.path).toBe('1.from');
  });

  it('rejects malformed entries with the field named', () => {
    expect(issuesOf(() => loadBaseRateTable([{ from: '2024-02-30', ratePercent: 1 }]))[0]?.path).toBe(
      '0.from',
    );
    expect(issuesOf(() => loadBaseRateTable([{ from: '2024-01-01', ratePercent: 162 }]))[0]?.path).toBe(
      '0.ratePercent',
    );
    expect(issuesOf(() => loadBaseRateTable([]))[0]?.path).toBe('(root)');
  });

  it('splits days at every change and every half-year past the table', () => {
    const segments = baseRateSegments(DEFAULT_BASE_RATE_TABLE, d('2025-12-15'), d('2027-01-10'));
    expect(segments.map((s) => [s.from, s.to, s.ratePercent, s.beyondTable])).toEqual([
      ['2025-12-15', '2025-12-31', 1.27, false],
      ['2026-01-01', '2026-06-30', 1.27, false],
      ['2026-07-01', '2026-12-31', 1.27, true],
      ['2027-01-01', '2027-01-10', 1.27, true],
    ]);
  });
});
