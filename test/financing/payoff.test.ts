import { describe, expect, it } from 'vitest';
import { payoffAmount } from '../../src/financing/payoff.ts';
import { calculateQuote } from '../../src/financing/quote.ts';
import { day, eur, publicCase } from './helpers.ts';

describe('payoffAmount', () => {
  const quote = calculateQuote({ ...publicCase, balloon: eur(30_000), firstPaymentDate: day('2026-01-31') });

  it('before any instalment the buyer owes the financed amount', () => {
    expect(payoffAmount(quote.schedule, 0, day('2026-01-15')).total).toBe(eur(50_000));
  });

  it('after 12 paid instalments the buyer owes the balance of row 12 and no further interest', () => {
    const payoff = payoffAmount(quote.schedule, 12, day('2027-01-15'));
    expect(payoff.remainingPrincipal).toBe(quote.schedule[11]?.balance);
    expect(payoff.overdueInterest).toBe(0);
    expect(payoff.total).toBe(
      quote.financedAmount - quote.schedule.slice(0, 12).reduce((s, r) => s + r.principal, 0),
    );
  });

  it('adds the interest part of instalments that fell due unpaid', () => {
    const payoff = payoffAmount(quote.schedule, 10, day('2026-12-31'));
    const dueUnpaid = quote.schedule.slice(10, 12);
    expect(payoff.overdueInterest).toBe(dueUnpaid[0]!.interest + dueUnpaid[1]!.interest);
    expect(payoff.total).toBe(quote.schedule[9]!.balance + payoff.overdueInterest);
  });

  it('is 0 once everything is paid', () => {
    expect(payoffAmount(quote.schedule, quote.schedule.length, day('2036-02-01')).total).toBe(0);
  });

  it('rejects an impossible count of paid instalments, naming the field', () => {
    for (const paid of [-1, 1.5, quote.schedule.length + 1]) {
      expect(() => payoffAmount(quote.schedule, paid, day('2026-06-01'))).toThrow(
        expect.objectContaining({ field: 'paidInstalments', code: 'invalid_financing_input' }),
      );
    }
  });
});
