import { describe, expect, it } from 'vitest';
import {
  collectionPhases,
  instalmentNumberOf,
  movedToStart,
  stripeStartOf,
  termsFromQuote,
  termsFromRate,
} from '../../src/financing/plan-terms.ts';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import { berlinDate } from '../../src/platform/dates.ts';
import { day, eur } from './helpers.ts';

const base: QuoteInput = {
  vehiclePrice: eur(249_900),
  downPayment: eur(49_900),
  termMonths: 96,
  nominalRatePercent: 4.99,
  balloon: eur(60_000),
  balloonMode: 'separate',
  paymentTiming: 'end',
  firstPaymentDate: day('2027-01-31'),
};

const termsOf = (input: QuoteInput) => termsFromQuote(calculateQuote(input), input);
const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);

describe('a plan’s payments from a quote', () => {
  it.each([
    ['separate balloon, month end', base, 96, '2034-12-31'],
    ['separate balloon, month start', { ...base, paymentTiming: 'start' as const }, 96, '2035-01-31'],
    ['balloon as last instalment', { ...base, balloonMode: 'last_instalment' as const }, 95, '2034-12-31'],
  ])('%s: Stripe collects %i instalments, the balloon is due %s', (_name, input, instalments, balloonDue) => {
    const quote = calculateQuote(input);
    const terms = termsFromQuote(quote, input);
    const kinds = terms.payments.map((p) => p.kind);
    expect(kinds.filter((k) => k === 'instalment')).toHaveLength(instalments);
    expect(kinds.at(-1)).toBe('balloon');
    expect(terms.payments.map((p) => p.n)).toEqual(terms.payments.map((_, i) => i + 1));
    const balloon = terms.payments.at(-1)!;
    expect(balloon.dueDate).toBe(balloonDue);
    // Nothing is lost or invented: the plan pays exactly the quote, interest and principal included.
    expect(sum(terms.payments.map((p) => p.amount))).toBe(sum(quote.schedule.map((r) => r.payment)));
    expect(sum(terms.payments.map((p) => p.interest))).toBe(quote.totalInterest);
    expect(sum(terms.payments.map((p) => p.principal))).toBe(quote.financedAmount);
    expect(terms).toMatchObject({ monthlyRate: quote.monthlyRate, durationMonths: 96 });
  });

  it('a separate balloon at month end is split off the last row, which keeps its rounding difference', () => {
    const quote = calculateQuote(base);
    const terms = termsFromQuote(quote, base);
    const last = quote.schedule.at(-1)!;
    const [instalment, balloon] = terms.payments.slice(-2);
    expect(balloon).toMatchObject({ kind: 'balloon', amount: eur(60_000), dueDate: last.dueDate });
    expect(instalment).toMatchObject({
      kind: 'instalment',
      amount: last.payment - eur(60_000),
      dueDate: last.dueDate,
    });
    expect(collectionPhases(terms.payments)).toEqual([
      { amount: quote.monthlyRate, months: 95 },
      { amount: last.payment - eur(60_000), months: 1 },
    ]);
  });

  it('without a balloon, the phases are R for all months but the last, then the last row', () => {
    const input = { ...base, balloon: eur(0), termMonths: 60 };
    const quote = calculateQuote(input);
    const phases = collectionPhases(termsOf(input).payments);
    expect(sum(phases.map((p) => p.months))).toBe(60);
    expect(phases[0]).toEqual({
      amount: quote.monthlyRate,
      months: quote.finalPayment === quote.monthlyRate ? 60 : 59,
    });
  });

  it('a plain rate is all principal, monthly from the start keeping its day', () => {
    const terms = termsFromRate(100_000, 3, day('2027-01-31'));
    expect(terms.payments.map((p) => [p.dueDate, p.amount, p.interest, p.principal])).toEqual([
      ['2027-01-31', 100_000, 0, 100_000],
      ['2027-02-28', 100_000, 0, 100_000],
      ['2027-03-31', 100_000, 0, 100_000],
    ]);
    expect(collectionPhases(terms.payments)).toEqual([{ amount: 100_000, months: 3 }]);
  });

  it('moves every due date, the balloon’s included, to a later start', () => {
    const payments = termsOf(base).payments;
    const moved = movedToStart(payments, day('2027-01-31'), day('2027-03-15'));
    expect(moved[0]?.dueDate).toBe('2027-03-15');
    expect(moved[1]?.dueDate).toBe('2027-04-15');
    expect(moved.at(-1)?.dueDate).toBe('2035-02-15');
    expect(moved.at(-2)?.dueDate).toBe('2035-02-15');
  });

  it('knows which instalment a period is, also a day off (Stripe counts months in UTC)', () => {
    const payments = termsFromRate(100_000, 12, day('2027-03-01')).payments;
    expect(instalmentNumberOf(payments, day('2027-03-01'))).toBe(1);
    expect(instalmentNumberOf(payments, day('2027-04-30'))).toBe(3);
    expect(instalmentNumberOf(payments, day('2027-05-01'))).toBe(3);
    expect(instalmentNumberOf(payments, day('2028-02-01'))).toBe(12);
  });

  it('starts Stripe at 00:00 UTC, which is the same day in Berlin all year', () => {
    for (const date of ['2027-01-01', '2027-03-28', '2027-07-31', '2027-10-31'] as const) {
      expect(berlinDate(stripeStartOf(day(date)) * 1000)).toBe(date);
    }
  });
});
