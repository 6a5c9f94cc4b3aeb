import { describe, expect, it } from 'vitest';
import { checkTerminationAllowed, type InstalmentStatus } from '../../src/financing/arrears.ts';
import { addDays, addMonths, type BusinessDate } from '../../src/platform/dates.ts';
import { cents } from '../../src/platform/money.ts';
import { day, eur } from './helpers.ts';

const instalment = eur(2_200);
const nominalAmount = eur(100_000); // 5 % = 5,000 €, 10 % = 10,000 €

/** A plan of monthly instalments due on the 1st from January 2026; `unpaid` maps n → amount still open. */
function plan(count: number, unpaid: Record<number, number>): InstalmentStatus[] {
  return Array.from({ length: count }, (_, k) => {
    const n = k + 1;
    return {
      n,
      dueDate: addMonths(day('2026-01-01'), k),
      amountDue: instalment,
      amountPaid: cents(instalment - (unpaid[n] ?? 0)),
    };
  });
}

const check = (
  instalments: InstalmentStatus[],
  today: BusinessDate,
  extra: { termMonths?: number; warningSentOn?: BusinessDate } = {},
) =>
  checkTerminationAllowed({
    nominalAmount,
    termMonths: extra.termMonths ?? 48,
    instalments,
    today,
    ...extra,
  });

describe('§ 498 BGB: calling the whole loan', () => {
  it('one missed instalment is not enough', () => {
    const result = check(plan(12, { 3: instalment }), day('2026-06-15'));
    expect(result.allowed).toBe(false);
    expect(result.consecutiveMissed).toBe(1);
    expect(result.canSendWarning).toBe(false);
    expect(result.reasons.join(' ')).toMatch(/at least 2/);
  });

  it('two consecutive missed but under 5 % of the nominal amount: not allowed, no warning', () => {
    const result = check(plan(12, { 3: instalment, 4: instalment }), day('2026-06-15'));
    expect(result.consecutiveMissed).toBe(2);
    expect(result.arrears).toBe(eur(4_400));
    expect(result.thresholdPercent).toBe(5);
    expect(result.threshold).toBe(eur(5_000));
    expect(result.allowed).toBe(false);
    expect(result.canSendWarning).toBe(false);
  });

  it('partly unpaid instalments count as in arrears', () => {
    const result = check(plan(12, { 3: eur(100), 4: instalment, 5: instalment }), day('2026-06-15'));
    expect(result.consecutiveMissed).toBe(3);
    expect(result.arrears).toBe(eur(4_500));
  });

  it('missed instalments with a paid one between them are not consecutive, however large the arrears', () => {
    const result = check(plan(12, { 1: instalment, 3: instalment, 5: instalment }), day('2026-06-15'));
    expect(result.consecutiveMissed).toBe(1);
    expect(result.arrears).toBe(eur(6_600));
    expect(result.allowed).toBe(false);
    expect(result.canSendWarning).toBe(false);
  });

  it('an instalment due today is not yet in arrears', () => {
    const unpaid = { 3: instalment, 4: instalment, 5: instalment };
    expect(check(plan(12, unpaid), day('2026-05-01')).consecutiveMissed).toBe(2);
    expect(check(plan(12, unpaid), day('2026-05-02')).consecutiveMissed).toBe(3);
  });

  describe('over the threshold', () => {
    const overdue = plan(12, { 3: instalment, 4: instalment, 5: instalment }); // 6,600 € ≥ 5,000 €

    it('without a warning: the warning may go out, calling may not', () => {
      const result = check(overdue, day('2026-06-15'));
      expect(result.arrears).toBe(eur(6_600));
      expect(result.canSendWarning).toBe(true);
      expect(result.allowed).toBe(false);
      expect(result.warningDeadline).toBeUndefined();
      expect(result.reasons).toEqual(['no warning with a two-week deadline has been sent']);
    });

    it('with a warning: not on the last day of the two weeks, allowed the day after', () => {
      const sent = day('2026-06-15'); // a Monday
      const onDeadline = check(overdue, addDays(sent, 14), { warningSentOn: sent });
      expect(onDeadline.warningDeadline).toBe('2026-06-29');
      expect(onDeadline.allowed).toBe(false);
      expect(onDeadline.canSendWarning).toBe(false);

      const after = check(overdue, addDays(sent, 15), { warningSentOn: sent });
      expect(after.allowed).toBe(true);
      expect(after.reasons).toEqual([]);
    });

    it('a deadline ending on a weekend runs to Monday (§ 193 BGB)', () => {
      const sent = day('2026-06-13'); // a Saturday
      const result = check(overdue, day('2026-06-29'), { warningSentOn: sent });
      expect(result.warningDeadline).toBe('2026-06-29');
      expect(result.allowed).toBe(false);
      expect(check(overdue, day('2026-06-30'), { warningSentOn: sent }).allowed).toBe(true);
    });

    it('not allowed once the buyer has paid down the arrears, even after the deadline', () => {
      const sent = day('2026-06-15');
      const paidDown = plan(12, { 3: instalment, 4: eur(1_000) });
      const result = check(paidDown, day('2026-07-10'), { warningSentOn: sent });
      expect(result.allowed).toBe(false);
      expect(result.arrears).toBe(eur(3_200));
    });

    it('a warning sent before the grounds held does not count: a new one is needed', () => {
      const tooEarly = day('2026-04-10'); // only instalment 3 was overdue then
      const result = check(overdue, day('2026-06-15'), { warningSentOn: tooEarly });
      expect(result.allowed).toBe(false);
      expect(result.canSendWarning).toBe(true);
      expect(result.reasons.join(' ')).toMatch(/new warning/);
    });
  });

  it('a term of at most 3 years needs 10 % of the nominal amount', () => {
    const overdue = plan(36, { 3: instalment, 4: instalment, 5: instalment });
    const short = check(overdue, day('2026-06-15'), { termMonths: 36 });
    expect(short.thresholdPercent).toBe(10);
    expect(short.threshold).toBe(eur(10_000));
    expect(short.canSendWarning).toBe(false);

    const long = check(overdue, day('2026-06-15'), { termMonths: 37 });
    expect(long.thresholdPercent).toBe(5);
    expect(long.canSendWarning).toBe(true);
  });

  it('rounds the threshold up to the cent so arrears just under the percentage do not meet it', () => {
    const result = checkTerminationAllowed({
      nominalAmount: cents(1_000_001),
      termMonths: 48,
      instalments: [],
      today: day('2026-06-15'),
    });
    expect(result.threshold).toBe(50_001); // 5 % of 10,000.01 € = 500.0005 €
  });
});
