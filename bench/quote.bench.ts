/** Benchmark 3: a financing quote, long plan with balloon against a short plain one, and the solver's share. */
import { effectiveRatePercent } from '../src/financing/effective-rate.ts';
import { calculateQuote, type QuoteInput } from '../src/financing/quote.ts';
import { cents } from '../src/platform/money.ts';
import { type Group, group, measureSync } from './harness.ts';

// A MORELO-sized financing: 185,000 € vehicle, 40,000 € down, a financed handling fee and one paid at signing,
// so the effective rate differs from the nominal one and the solver has real work to do.
const common: QuoteInput = {
  vehiclePrice: cents(18_500_000),
  downPayment: cents(4_000_000),
  termMonths: 12,
  nominalRatePercent: 5.99,
  balloonMode: 'separate',
  paymentTiming: 'end',
  fees: [
    { amount: cents(49_000), financed: true, label: 'Bearbeitungsgebühr' },
    { amount: cents(25_000), financed: false, label: 'Vertragsgebühr' },
  ],
};
const short: QuoteInput = { ...common, termMonths: 12 };
const long: QuoteInput = { ...common, termMonths: 120, balloon: cents(5_500_000) };

/**
 * The solver's input exactly as calculateQuote builds it: the fees paid at signing at month 0, then each schedule
 * row. With payments at month end every row is one month, so row n falls in month n; the check keeps that honest.
 */
function solverInput(input: QuoteInput) {
  const quote = calculateQuote(input);
  if (quote.schedule.length !== input.termMonths) throw new Error('expected one schedule row per month');
  return {
    received: quote.netLoanAmount,
    flows: [
      { month: 0, amount: quote.upfrontFees },
      ...quote.schedule.map((row) => ({ month: row.n, amount: row.payment })),
    ],
    expected: quote.effectiveRatePercent,
  };
}

/** Runs benchmark 3. */
export async function quoteBenchmark(): Promise<Group> {
  // Milliseconds per call: each call is timed on its own.
  const sizes = { warmup: 200, samples: 7 };
  const baseline = await measureSync({
    name: 'quote 12 months, no balloon (baseline)',
    ...sizes,
    opsPerSample: 400,
    op: () => calculateQuote(short),
  });
  const longQuote = await measureSync({
    name: 'quote 120 months + balloon',
    ...sizes,
    opsPerSample: 100,
    op: () => calculateQuote(long),
  });
  const longSolver = solverInput(long);
  const shortSolver = solverInput(short);
  for (const s of [longSolver, shortSolver]) {
    if (effectiveRatePercent(s.received, s.flows, common.nominalRatePercent) !== s.expected) {
      throw new Error('the solver input does not reproduce the quote’s effective rate');
    }
  }
  const solverLong = await measureSync({
    name: 'effective-rate solver alone, 120 m + balloon',
    ...sizes,
    opsPerSample: 100,
    op: () => effectiveRatePercent(longSolver.received, longSolver.flows, common.nominalRatePercent),
  });
  const solverShort = await measureSync({
    name: 'effective-rate solver alone, 12 m',
    ...sizes,
    opsPerSample: 400,
    op: () => effectiveRatePercent(shortSolver.received, shortSolver.flows, common.nominalRatePercent),
  });
  const share = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;
  return group(
    '3. Financing quote (calculateQuote)',
    baseline,
    [longQuote, solverLong, solverShort],
    [
      `The effective-rate solver is ${share(solverLong.msPerOp, longQuote.msPerOp)} of a 120-month quote ` +
        `and ${share(solverShort.msPerOp, baseline.msPerOp)} of a 12-month one (its time ÷ the whole quote's time).`,
    ],
  );
}
