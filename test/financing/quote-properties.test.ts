import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import type { Cents } from '../../src/platform/money.ts';
import { replay } from './helpers.ts';

const asCents = (value: number) => value as Cents;

/**
 * Realistic quotes: 150k–800k € vehicles, Sollzins with two decimals as it is quoted, any layout.
 * Balloons only from 12 months on: a two-month plan whose instalment at payout is nearly the whole
 * loan is rejected by design (see the validation tests).
 */
const quoteInput: fc.Arbitrary<QuoteInput> = fc
  .record({
    vehiclePrice: fc.integer({ min: 15_000_000, max: 80_000_000 }),
    downPercent: fc.integer({ min: 0, max: 60 }),
    termMonths: fc.integer({ min: 2, max: 120 }),
    rateHundredths: fc.integer({ min: 0, max: 3000 }),
    balloonPercent: fc.integer({ min: 0, max: 60 }),
    balloonMode: fc.constantFrom('separate' as const, 'last_instalment' as const),
    paymentTiming: fc.constantFrom('end' as const, 'start' as const),
    fees: fc.array(fc.record({ amount: fc.integer({ min: 0, max: 500_000 }), financed: fc.boolean() }), {
      maxLength: 3,
    }),
  })
  .map((r) => {
    const net = r.vehiclePrice - Math.floor((r.vehiclePrice * r.downPercent) / 100);
    return {
      vehiclePrice: asCents(r.vehiclePrice),
      downPayment: asCents(r.vehiclePrice - net),
      termMonths: r.termMonths,
      nominalRatePercent: r.rateHundredths / 100,
      balloon: asCents(r.termMonths < 12 ? 0 : Math.floor((net * r.balloonPercent) / 100)),
      balloonMode: r.balloonMode,
      paymentTiming: r.paymentTiming,
      fees: r.fees.map((f) => ({ amount: asCents(f.amount), financed: f.financed })),
    };
  });

describe('schedule invariants (fast-check)', () => {
  it('principal sums to the financed amount; the balance never goes negative and ends at 0', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const quote = calculateQuote(input);
        const principal = quote.schedule.reduce((sum, row) => sum + row.principal, 0);
        expect(principal).toBe(quote.financedAmount);
        expect(quote.schedule.every((row) => row.balance >= 0)).toBe(true);
        expect(quote.schedule.at(-1)?.balance).toBe(0);
      }),
    );
  });

  it('rows and totals agree: payment = interest + principal, balances chain, sums match the totals', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const quote = calculateQuote(input);
        let balance = quote.financedAmount as number;
        for (const row of quote.schedule) {
          expect(row.payment).toBe(row.interest + row.principal);
          balance -= row.principal;
          expect(row.balance).toBe(balance);
        }
        const paid = quote.schedule.reduce((sum, row) => sum + row.payment, 0);
        const interest = quote.schedule.reduce((sum, row) => sum + row.interest, 0);
        expect(paid).toBe(quote.totalPayable - quote.upfrontFees);
        expect(interest).toBe(quote.totalInterest);
        expect(quote.finalPayment).toBe(quote.schedule.at(-1)?.payment);
      }),
    );
  });

  it('every payment but the last is the rounded R; the last differs from plan only by rounding', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const quote = calculateQuote(input);
        const rows = quote.schedule;
        expect(rows.slice(0, -1).every((row) => row.payment === quote.monthlyRate)).toBe(true);
        const balloon = input.balloon ?? 0;
        const lastRowIsBalloonOnly =
          balloon > 0 && (input.balloonMode === 'last_instalment' || input.paymentTiming === 'start');
        const planned = lastRowIsBalloonOnly ? balloon : quote.monthlyRate + balloon;
        // Each month can be off by at most a cent (R and interest half a cent each), compounded.
        const bound = input.termMonths * (1 + input.nominalRatePercent / 1200) ** input.termMonths;
        expect(Math.abs(quote.finalPayment - planned)).toBeLessThanOrEqual(bound);
      }),
    );
  });

  it('replaying the quoted payments with integer half-up interest reaches exactly 0', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const quote = calculateQuote(input);
        const balances = replay(
          quote.financedAmount,
          input.nominalRatePercent,
          quote.schedule,
          input.paymentTiming,
        );
        expect(balances).toEqual(quote.schedule.map((row) => row.balance));
      }),
    );
  });

  it('the monthly instalment does not fall when the nominal rate rises', () => {
    fc.assert(
      fc.property(quoteInput, fc.integer({ min: 0, max: 3000 }), (input, otherHundredths) => {
        const other = otherHundredths / 100;
        const [low, high] = [
          Math.min(input.nominalRatePercent, other),
          Math.max(input.nominalRatePercent, other),
        ];
        const atLow = calculateQuote({ ...input, nominalRatePercent: low });
        const atHigh = calculateQuote({ ...input, nominalRatePercent: high });
        expect(atHigh.monthlyRate).toBeGreaterThanOrEqual(atLow.monthlyRate);
      }),
    );
  });

  it('without fees the effective rate is at least the nominal rate', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const quote = calculateQuote({ ...input, fees: [] });
        expect(quote.effectiveRatePercent).toBeGreaterThanOrEqual(input.nominalRatePercent);
      }),
    );
  });

  it('fees never lower the effective rate', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        const withFees = calculateQuote(input);
        const withoutFees = calculateQuote({ ...input, fees: [] });
        expect(withFees.effectiveRatePercent).toBeGreaterThanOrEqual(withoutFees.effectiveRatePercent);
      }),
    );
  });
});
