import { describe, expect, it } from 'vitest';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import { day, eur, layoutOf, publicCase, range, replay, solveInstalmentBySimulation } from './helpers.ts';

describe('public check values (FINANCING.md)', () => {
  it('N 50,000 €, 14 %, 120 months, balloon 30,000 € separate: R = 660.53 €', () => {
    const quote = calculateQuote({ ...publicCase, balloon: eur(30_000) });
    expect(quote.monthlyRate).toBe(eur(660.53));
  });

  it('same without balloon: R = 776.33 €', () => {
    expect(calculateQuote(publicCase).monthlyRate).toBe(eur(776.33));
  });

  it('first case with payments at month start: R = 652.92 €', () => {
    const quote = calculateQuote({ ...publicCase, balloon: eur(30_000), paymentTiming: 'start' });
    expect(quote.monthlyRate).toBe(eur(652.92));
  });

  it.each([
    [5.99, 6.16],
    [5.83, 5.99],
    [3.92, 3.99],
  ])('Sollzins %s %% gives effektiver Jahreszins %s %% without fees', (nominal, effective) => {
    const quote = calculateQuote({ ...publicCase, nominalRatePercent: nominal });
    expect(quote.effectiveRatePercent).toBe(effective);
  });

  it('the effective rate does not depend on payment timing when there are no fees', () => {
    const quote = calculateQuote({ ...publicCase, nominalRatePercent: 5.99, paymentTiming: 'start' });
    expect(quote.effectiveRatePercent).toBe(6.16);
  });
});

describe('balloon separate, month end: the public case in full', () => {
  const quote = calculateQuote({ ...publicCase, balloon: eur(30_000) });

  it('pays R in months 1–119 and R + balloon + rounding difference in month 120', () => {
    expect(quote.schedule).toHaveLength(120);
    expect(quote.schedule.slice(0, 119).every((row) => row.payment === eur(660.53))).toBe(true);
    const correction = quote.finalPayment - eur(660.53) - eur(30_000);
    expect(Math.abs(correction)).toBeLessThan(eur(2));
    expect(quote.schedule.at(-1)?.balance).toBe(0);
  });

  it('charges 1 % 14/12 interest on the first month: 583.33 €', () => {
    expect(quote.schedule[0]?.interest).toBe(eur(583.33));
    expect(quote.schedule[0]?.principal).toBe(eur(660.53 - 583.33));
  });

  it('totals match the schedule and the buyer pays back N plus interest', () => {
    const paid = quote.schedule.reduce((sum, row) => sum + row.payment, 0);
    expect(quote.totalPayable).toBe(paid);
    expect(quote.totalPayable).toBe(quote.financedAmount + quote.totalInterest);
  });
});

describe('independent vectors, cross-checked by a month-by-month simulation', () => {
  // [label, input, payments by month as a function of R]
  const n = 96;
  const cases: Array<[string, QuoteInput, (r: number) => Map<number, number>]> = [
    [
      '200,000 € at 4.99 % over 84 months, month end',
      {
        ...publicCase,
        vehiclePrice: eur(250_000),
        downPayment: eur(50_000),
        termMonths: 84,
        nominalRatePercent: 4.99,
      },
      layoutOf(range(1, 84), []),
    ],
    [
      '350,000 € at 3.49 %, 96 months, 100,000 € balloon separate',
      {
        ...publicCase,
        vehiclePrice: eur(350_000),
        termMonths: n,
        nominalRatePercent: 3.49,
        balloon: eur(100_000),
      },
      layoutOf(range(1, n), [[n, 10_000_000]]),
    ],
    [
      '350,000 € at 3.49 %, 96 months, 100,000 € balloon as the 96th instalment',
      {
        ...publicCase,
        vehiclePrice: eur(350_000),
        termMonths: n,
        nominalRatePercent: 3.49,
        balloon: eur(100_000),
        balloonMode: 'last_instalment',
      },
      layoutOf(range(1, n - 1), [[n, 10_000_000]]),
    ],
    [
      'same, payments at month start: the balloon is due with instalment 96, in month 95',
      {
        ...publicCase,
        vehiclePrice: eur(350_000),
        termMonths: n,
        nominalRatePercent: 3.49,
        balloon: eur(100_000),
        balloonMode: 'last_instalment',
        paymentTiming: 'start',
      },
      layoutOf(range(0, n - 1), [[n - 1, 10_000_000]]),
    ],
    [
      '800,000 € at 7.25 %, 120 months, 240,000 € separate balloon, month start: balloon at term end',
      {
        ...publicCase,
        vehiclePrice: eur(800_000),
        termMonths: 120,
        nominalRatePercent: 7.25,
        balloon: eur(240_000),
        paymentTiming: 'start',
      },
      layoutOf(range(0, 120), [[120, 24_000_000]]),
    ],
    [
      '123,456.78 € at 0 % over 36 months',
      { ...publicCase, vehiclePrice: eur(123_456.78), termMonths: 36, nominalRatePercent: 0 },
      layoutOf(range(1, 36), []),
    ],
  ];

  it.each(cases)('%s', (_label, input, layout) => {
    const quote = calculateQuote(input);
    const simulated = solveInstalmentBySimulation(quote.financedAmount, input.nominalRatePercent, layout);
    expect(quote.monthlyRate).toBe(Math.round(simulated));

    const balances = replay(
      quote.financedAmount,
      input.nominalRatePercent,
      quote.schedule,
      input.paymentTiming,
    );
    expect(balances).toEqual(quote.schedule.map((row) => row.balance));
    expect(balances.at(-1)).toBe(0);
  });

  it('pins the values the simulation found (Python decimal, 40 digits, agrees)', () => {
    const at = (input: Partial<QuoteInput>) => calculateQuote({ ...publicCase, ...input }).monthlyRate;
    const big = {
      vehiclePrice: eur(350_000),
      termMonths: 96,
      nominalRatePercent: 3.49,
      balloon: eur(100_000),
    };
    expect(at({ vehiclePrice: eur(200_000), termMonths: 84, nominalRatePercent: 4.99 })).toBe(eur(2825.84));
    expect(at(big)).toBe(eur(3279.2));
    expect(at({ ...big, balloonMode: 'last_instalment' })).toBe(eur(3309.13));
    expect(at({ ...big, balloonMode: 'last_instalment', paymentTiming: 'start' })).toBe(eur(3296.89));
    expect(at({ vehiclePrice: eur(123_456.78), termMonths: 36, nominalRatePercent: 0 })).toBe(eur(3429.36));
  });
});

describe('zero-rate loans', () => {
  it('split the amount evenly, the last payment takes the remainder, no interest', () => {
    const quote = calculateQuote({
      ...publicCase,
      vehiclePrice: eur(1000),
      termMonths: 3,
      nominalRatePercent: 0,
    });
    expect(quote.schedule.map((row) => row.payment)).toEqual([33333, 33333, 33334]);
    expect(quote.totalInterest).toBe(0);
    expect(quote.effectiveRatePercent).toBe(0);
  });

  it('with a balloon as last instalment: instalments cover N − B', () => {
    const quote = calculateQuote({
      ...publicCase,
      vehiclePrice: eur(10_000),
      termMonths: 5,
      nominalRatePercent: 0,
      balloon: eur(6_000),
      balloonMode: 'last_instalment',
    });
    expect(quote.schedule.map((row) => row.payment)).toEqual([
      eur(1000),
      eur(1000),
      eur(1000),
      eur(1000),
      eur(6000),
    ]);
  });
});

describe('fees', () => {
  it('financed fees raise N and the effective rate; upfront fees stay out of the schedule', () => {
    const plain = calculateQuote({ ...publicCase, nominalRatePercent: 5.99 });
    const financed = calculateQuote({
      ...publicCase,
      nominalRatePercent: 5.99,
      fees: [{ amount: eur(500), financed: true, label: 'Bearbeitung' }],
    });
    expect(financed.financedAmount).toBe(eur(50_500));
    expect(financed.netLoanAmount).toBe(eur(50_000));
    expect(financed.effectiveRatePercent).toBeGreaterThan(plain.effectiveRatePercent);

    const upfront = calculateQuote({
      ...publicCase,
      nominalRatePercent: 5.99,
      fees: [{ amount: eur(500), financed: false }],
    });
    expect(upfront.financedAmount).toBe(eur(50_000));
    expect(upfront.upfrontFees).toBe(eur(500));
    expect(upfront.schedule).toEqual(plain.schedule);
    expect(upfront.totalPayable).toBe(plain.totalPayable + eur(500));
    expect(upfront.effectiveRatePercent).toBeGreaterThan(plain.effectiveRatePercent);
  });

  it('a 1 % fee at signing on an interest-free year costs 1.88 % effective (checked in Python)', () => {
    const quote = calculateQuote({
      ...publicCase,
      vehiclePrice: eur(10_000),
      termMonths: 12,
      nominalRatePercent: 0,
      fees: [{ amount: eur(100), financed: false }],
    });
    expect(quote.effectiveRatePercent).toBe(1.88);
  });
});

describe('due dates', () => {
  const dates = (input: Partial<QuoteInput>) =>
    calculateQuote({ ...publicCase, termMonths: 4, ...input }).schedule.map((row) => row.dueDate);

  it('a plan starting 31 January pays on the last day of short months and returns to the 31st', () => {
    expect(dates({ firstPaymentDate: day('2027-01-31') })).toEqual([
      '2027-01-31',
      '2027-02-28',
      '2027-03-31',
      '2027-04-30',
    ]);
  });

  it('uses 29 February in the leap year 2028', () => {
    expect(dates({ firstPaymentDate: day('2028-01-31') })[1]).toBe('2028-02-29');
  });

  it('the first payment is due on the first payment date for either timing', () => {
    expect(dates({ firstPaymentDate: day('2026-05-15'), paymentTiming: 'start' })[0]).toBe('2026-05-15');
    expect(dates({ firstPaymentDate: day('2026-05-15') })[0]).toBe('2026-05-15');
  });

  it('are null when no first payment date is given', () => {
    expect(dates({})).toEqual([null, null, null, null]);
  });

  it('96-month plan with balloon: the balloon is due with the 96th instalment at month end', () => {
    const quote = calculateQuote({
      ...publicCase,
      vehiclePrice: eur(350_000),
      termMonths: 96,
      nominalRatePercent: 3.49,
      balloon: eur(100_000),
      firstPaymentDate: day('2026-03-31'),
    });
    expect(quote.schedule).toHaveLength(96);
    expect(quote.schedule[1]?.dueDate).toBe('2026-04-30');
    expect(quote.schedule[11]?.dueDate).toBe('2027-02-28');
    expect(quote.schedule[23]?.dueDate).toBe('2028-02-29');
    expect(quote.schedule.at(-1)?.dueDate).toBe('2034-02-28');
    expect(Math.abs(quote.finalPayment - quote.monthlyRate - eur(100_000))).toBeLessThan(eur(1));
  });

  it('96-month plan at month start: the separate balloon follows one month after instalment 96', () => {
    const quote = calculateQuote({
      ...publicCase,
      vehiclePrice: eur(350_000),
      termMonths: 96,
      nominalRatePercent: 3.49,
      balloon: eur(100_000),
      paymentTiming: 'start',
      firstPaymentDate: day('2026-03-31'),
    });
    expect(quote.schedule).toHaveLength(97);
    expect(quote.schedule[0]?.interest).toBe(0);
    expect(quote.schedule[95]?.dueDate).toBe('2034-02-28');
    expect(quote.schedule[95]?.payment).toBe(quote.monthlyRate);
    expect(quote.schedule[96]?.dueDate).toBe('2034-03-31');
    expect(Math.abs(quote.finalPayment - eur(100_000))).toBeLessThan(eur(1));
  });
});
