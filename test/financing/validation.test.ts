import { describe, expect, it } from 'vitest';
import { QuoteInputError } from '../../src/financing/errors.ts';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import { quoteInputSchema } from '../../src/financing/quote-schema.ts';
import { day, eur, publicCase } from './helpers.ts';

function rejectionOf(input: Partial<QuoteInput> | Record<string, unknown>): QuoteInputError {
  try {
    calculateQuote({ ...publicCase, ...input } as QuoteInput);
  } catch (error) {
    if (error instanceof QuoteInputError) return error;
    throw error;
  }
  throw new Error('the input was accepted');
}

describe('calculateQuote rejects bad input naming the field', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['price 0', { vehiclePrice: 0 }, 'vehiclePrice'],
    ['negative price', { vehiclePrice: -100 }, 'vehiclePrice'],
    ['fractional cents', { vehiclePrice: 100.5 }, 'vehiclePrice'],
    ['negative down payment', { downPayment: -1 }, 'downPayment'],
    ['down payment equal to the price', { downPayment: eur(50_000) }, 'downPayment'],
    ['down payment above the price', { downPayment: eur(60_000) }, 'downPayment'],
    ['term 0', { termMonths: 0 }, 'termMonths'],
    ['term 121', { termMonths: 121 }, 'termMonths'],
    ['term not whole', { termMonths: 12.5 }, 'termMonths'],
    ['negative rate', { nominalRatePercent: -0.01 }, 'nominalRatePercent'],
    ['rate above 30', { nominalRatePercent: 30.01 }, 'nominalRatePercent'],
    ['rate not a number', { nominalRatePercent: Number.NaN }, 'nominalRatePercent'],
    ['negative balloon', { balloon: -1 }, 'balloon'],
    ['balloon equal to the financed amount', { balloon: eur(50_000) }, 'balloon'],
    ['balloon above the financed amount', { balloon: eur(50_001) }, 'balloon'],
    [
      'balloon a cent short of N: the instalment cannot pay the loan down',
      { balloon: eur(49_999.99) },
      'balloon',
    ],
    ['unknown balloon mode', { balloonMode: 'halfway' }, 'balloonMode'],
    ['unknown payment timing', { paymentTiming: 'whenever' }, 'paymentTiming'],
    ['negative fee', { fees: [{ amount: -1, financed: true }] }, 'fees.0.amount'],
    [
      'second fee negative',
      {
        fees: [
          { amount: 100, financed: false },
          { amount: -5, financed: false },
        ],
      },
      'fees.1.amount',
    ],
    ['fee without financed flag', { fees: [{ amount: 100 }] }, 'fees.0.financed'],
    ['fees at signing as large as the loan', { fees: [{ amount: eur(50_000), financed: false }] }, 'fees'],
    ['not a calendar day', { firstPaymentDate: '2026-02-30' }, 'firstPaymentDate'],
    [
      'one month at month start (repaid on payout day)',
      { termMonths: 1, paymentTiming: 'start' },
      'termMonths',
    ],
    [
      'balloon as the only instalment',
      { termMonths: 1, balloon: eur(10_000), balloonMode: 'last_instalment' },
      'termMonths',
    ],
    [
      '1 € spread over 120 months: whole cents overshoot',
      { vehiclePrice: 100, termMonths: 120, nominalRatePercent: 0 },
      'termMonths',
    ],
  ];

  it.each(cases)('%s', (_label, input, field) => {
    const error = rejectionOf(input);
    expect(error.field).toBe(field);
    expect(error.code).toBe('invalid_financing_input');
    expect(error.message).toContain(field);
  });

  it('rejects a plan whose payment at payout already repays what was lent', () => {
    const error = rejectionOf({
      vehiclePrice: eur(150_000),
      termMonths: 2,
      nominalRatePercent: 0,
      balloon: eur(1_500),
      balloonMode: 'last_instalment',
      paymentTiming: 'start',
      fees: [{ amount: eur(1_500), financed: false }],
    });
    expect(error.field).toBe('fees');
  });

  it('accepts the edges: rate 30 %, a one-month term at month end', () => {
    expect(calculateQuote({ ...publicCase, nominalRatePercent: 30 }).monthlyRate).toBeGreaterThan(0);
    expect(calculateQuote({ ...publicCase, termMonths: 1 }).schedule).toHaveLength(1);
    expect(calculateQuote({ ...publicCase, termMonths: 1 }).finalPayment).toBe(eur(50_583.33));
  });
});

describe('quoteInputSchema', () => {
  const body = {
    vehiclePrice: 25_000_000,
    downPayment: 5_000_000,
    termMonths: 96,
    nominalRatePercent: 5.99,
    balloon: 6_000_000,
    balloonMode: 'separate',
    paymentTiming: 'end',
    fees: [{ amount: 49_900, financed: true, label: 'Bearbeitungsgebühr' }],
    firstPaymentDate: '2026-07-31',
  };

  it('parses a request body into an input calculateQuote accepts', () => {
    const input: QuoteInput = quoteInputSchema.parse(body);
    const quote = calculateQuote(input);
    expect(quote.financedAmount).toBe(20_049_900);
    expect(quote.schedule[0]?.dueDate).toBe(day('2026-07-31'));
  });

  it.each([
    ['vehiclePrice', { vehiclePrice: 0 }],
    ['downPayment', { downPayment: -1 }],
    ['termMonths', { termMonths: 121 }],
    ['termMonths', { termMonths: 6.5 }],
    ['nominalRatePercent', { nominalRatePercent: 31 }],
    ['balloon', { balloon: 1.5 }],
    ['balloonMode', { balloonMode: 'middle' }],
    ['paymentTiming', { paymentTiming: 'later' }],
    ['fees.0.amount', { fees: [{ amount: -1, financed: true }] }],
    ['firstPaymentDate', { firstPaymentDate: '2026-02-29' }],
  ])('names %s in the issue path', (field, change) => {
    const result = quoteInputSchema.safeParse({ ...body, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(field);
  });

  it('refuses unknown fields, so a misspelt "ballon" is not silently ignored', () => {
    const result = quoteInputSchema.safeParse({ ...body, ballon: 100 });
    expect(result.success).toBe(false);
  });
});
