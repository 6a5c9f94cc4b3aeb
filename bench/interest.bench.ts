/** Benchmark 4: default interest over a long span (several base-rate periods) against a 30-day span. */
import { calculateDefaultInterest, type DefaultInterestInput } from '../src/dunning/interest.ts';
import { parseBusinessDate } from '../src/platform/dates.ts';
import { cents } from '../src/platform/money.ts';
import { type Group, group, measureSync } from './harness.ts';

// Business debtor (base rate + 9 points) on an open 85,000 € invoice. The 30 days fall inside one base-rate
// half-year; the 3 years cross six changes of the shipped table, so the long span is itemised in six periods.
const thirtyDays: DefaultInterestInput = {
  principal: cents(8_500_000),
  defaultStart: parseBusinessDate('2025-08-01'),
  until: parseBusinessDate('2025-08-30'),
  debtorType: 'business',
};
const threeYears: DefaultInterestInput = {
  ...thirtyDays,
  defaultStart: parseBusinessDate('2023-01-01'),
  until: parseBusinessDate('2025-12-31'),
};

/** Runs benchmark 4. */
export async function interestBenchmark(): Promise<Group> {
  const periods = (input: DefaultInterestInput) => calculateDefaultInterest(input).periods.length;
  // Each call takes microseconds: timing them in batches of 100 keeps the timer's own cost out of the figures.
  const sizes = { warmup: 5_000, samples: 7, opsPerSample: 10_000, batch: 100 };
  const baseline = await measureSync({
    name: 'interest over 30 days (baseline)',
    ...sizes,
    op: () => calculateDefaultInterest(thirtyDays),
    note: `${periods(thirtyDays)} period`,
  });
  const long = await measureSync({
    name: 'interest over 3 years',
    ...sizes,
    op: () => calculateDefaultInterest(threeYears),
    note: `${periods(threeYears)} periods`,
  });
  return group(
    '4. Dunning interest (calculateDefaultInterest)',
    baseline,
    [long],
    [
      `Periods itemised: ${periods(thirtyDays)} for 30 days, ${periods(threeYears)} for 3 years ` +
        '(one per base-rate half-year the span touches).',
    ],
  );
}
