import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InconsistentDunningHistoryError } from '../../src/dunning/errors.ts';
import {
  type DunningCaseState,
  nextActionDate,
  paymentDeadline,
  planDunningStep,
  type SentLetter,
} from '../../src/dunning/plan.ts';
import { DEFAULT_POLICIES, type DunningPolicy, parseDunningPolicy } from '../../src/dunning/policy.ts';
import { addDays, type BusinessDate, parseBusinessDate as d, daysBetween } from '../../src/platform/dates.ts';

const policy = DEFAULT_POLICIES.consumer;
const dueDate = d('2025-03-14');

function state(
  today: BusinessDate,
  lettersSent: SentLetter[] = [],
  over: Partial<DunningCaseState> = {},
): DunningCaseState {
  return {
    policy,
    dueDate,
    today,
    lettersSent,
    paused: false,
    openAmount: 25_000_000,
    paymentProcessing: false,
    disputed: false,
    ...over,
  };
}

/** Runs the planner on each day given, recording every letter it asks for, like the worker would. */
function simulate(p: DunningPolicy, due: BusinessDate, runDays: BusinessDate[]) {
  const sent: SentLetter[] = [];
  const decisions: BusinessDate[] = [];
  for (const today of runDays) {
    const step = planDunningStep({ ...state(today, sent), policy: p, dueDate: due });
    if (step.action === 'send_letter') sent.push({ level: step.level, sentOn: today });
    if (step.action === 'await_decision') decisions.push(today);
  }
  return { sent, decisions };
}

function everyDay(from: BusinessDate, count: number): BusinessDate[] {
  return Array.from({ length: count }, (_, i) => addDays(from, i));
}

describe('planDunningStep', () => {
  it('sends nothing before the first level is due', () => {
    expect(planDunningStep(state(dueDate))).toEqual({ action: 'none', reason: 'waiting', level: 1 });
    expect(planDunningStep(state(addDays(dueDate, 6)))).toEqual({
      action: 'none',
      reason: 'waiting',
      level: 1,
    });
  });

  it('on time: each letter on its day, then a decision two weeks after the last', () => {
    const { sent, decisions } = simulate(policy, dueDate, everyDay(dueDate, 80));
    expect(sent.map((s) => [s.level, daysBetween(dueDate, s.sentOn)])).toEqual([
      [1, 7],
      [2, 21],
      [3, 35],
      [4, 49],
    ]);
    expect(daysBetween(dueDate, decisions[0]!)).toBe(63);
  });

  it('after 40 days of downtime sends level 1 only, then gives the buyer time before level 2', () => {
    const back = addDays(dueDate, 40);
    expect(planDunningStep(state(back))).toEqual({ action: 'send_letter', level: 1, reason: 'level_due' });

    const sent = [{ level: 1, sentOn: back }];
    // Level 2 is overdue by the calendar, but the late reminder's 10-day deadline must run first:
    // the policy's 14-day gap between the levels is kept.
    expect(planDunningStep(state(back, sent))).toMatchObject({ action: 'none', level: 2 });
    expect(planDunningStep(state(addDays(back, 13), sent))).toMatchObject({ action: 'none', level: 2 });
    expect(planDunningStep(state(addDays(back, 14), sent))).toEqual({
      action: 'send_letter',
      level: 2,
      reason: 'level_due',
    });

    const { sent: all } = simulate(policy, dueDate, everyDay(back, 80));
    expect(all.map((s) => [s.level, daysBetween(dueDate, s.sentOn)])).toEqual([
      [1, 40],
      [2, 54],
      [3, 68],
      [4, 82],
    ]);
  });

  it('never sends the same level twice on a repeated run', () => {
    const today = addDays(dueDate, 21);
    const sent = [
      { level: 1, sentOn: addDays(dueDate, 7) },
      { level: 2, sentOn: today },
    ];
    expect(planDunningStep(state(today, sent))).toMatchObject({ action: 'none', level: 3 });
  });

  it.each([
    ['paused', { paused: true }],
    ['payment_processing', { paymentProcessing: true }],
    ['unapplied_transfer', { unappliedTransfer: true }],
    ['disputed', { disputed: true }],
  ] as const)('does nothing while %s', (reason, over) => {
    expect(planDunningStep(state(addDays(dueDate, 30), [], over))).toEqual({ action: 'none', reason });
  });

  it('closes a paid case, even a paused or disputed one', () => {
    expect(planDunningStep(state(addDays(dueDate, 30), [], { openAmount: 0 }))).toEqual({
      action: 'close',
      reason: 'paid',
    });
    expect(
      planDunningStep(state(addDays(dueDate, 30), [], { openAmount: 0, paused: true, disputed: true })),
    ).toEqual({ action: 'close', reason: 'paid' });
    expect(
      planDunningStep(state(addDays(dueDate, 30), [], { openAmount: 0, unappliedTransfer: true })),
    ).toEqual({ action: 'close', reason: 'paid' });
  });

  it('resumes at the next level after a pause ends', () => {
    const sent = [{ level: 1, sentOn: addDays(dueDate, 7) }];
    const today = addDays(dueDate, 90);
    expect(planDunningStep(state(today, sent, { paused: true }))).toEqual({
      action: 'none',
      reason: 'paused',
    });
    expect(planDunningStep(state(today, sent))).toEqual({
      action: 'send_letter',
      level: 2,
      reason: 'level_due',
    });
  });

  it('refuses a history with a gap instead of guessing', () => {
    const sent = [
      { level: 1, sentOn: addDays(dueDate, 7) },
      { level: 3, sentOn: addDays(dueDate, 35) },
    ];
    expect(() => planDunningStep(state(addDays(dueDate, 60), sent))).toThrow(InconsistentDunningHistoryError);
  });

  it('awaits a decision when the ladder was shortened below the letters already sent', () => {
    const short = parseDunningPolicy({ ...structuredClone(policy), levels: policy.levels.slice(0, 2) });
    const sent = [1, 2, 3].map((level) => ({ level, sentOn: addDays(dueDate, level * 14) }));
    expect(planDunningStep({ ...state(addDays(dueDate, 60), sent), policy: short })).toEqual({
      action: 'await_decision',
      reason: 'ladder_complete',
    });
  });
});

describe('nextActionDate', () => {
  it('names the next letter and its day', () => {
    expect(nextActionDate(state(dueDate))).toEqual({
      action: 'send_letter',
      level: 1,
      on: '2025-03-21',
      reason: 'waiting',
    });
  });

  it('reports an overdue step as due today', () => {
    const today = addDays(dueDate, 40);
    expect(nextActionDate(state(today))).toEqual({
      action: 'send_letter',
      level: 1,
      on: today,
      reason: 'level_due',
    });
  });

  it('has no date while the case is blocked', () => {
    expect(nextActionDate(state(dueDate, [], { disputed: true }))).toEqual({
      action: 'none',
      on: null,
      reason: 'disputed',
    });
  });

  it('names the escalation decision after the last letter', () => {
    const sent = policy.levels.map((l) => ({ level: l.level, sentOn: addDays(dueDate, l.daysAfterDue) }));
    expect(nextActionDate(state(addDays(dueDate, 50), sent))).toEqual({
      action: 'await_decision',
      on: addDays(dueDate, 63),
      reason: 'waiting',
    });
  });
});

describe('paymentDeadline', () => {
  it('moves a deadline off the weekend to Monday (§ 193 BGB)', () => {
    const level = policy.levels[0]!; // 10 days
    expect(paymentDeadline(level, d('2025-03-03'))).toBe('2025-03-13'); // Thursday stays
    expect(paymentDeadline(level, d('2025-03-05'))).toBe('2025-03-17'); // Saturday 15th → Monday
    expect(paymentDeadline(level, d('2025-03-06'))).toBe('2025-03-17'); // Sunday 16th → Monday
  });
});

const policyArb = fc
  .record({
    firstDay: fc.integer({ min: 1, max: 30 }),
    steps: fc.array(
      fc.record({ deadline: fc.integer({ min: 1, max: 20 }), slack: fc.integer({ min: 1, max: 20 }) }),
      {
        minLength: 1,
        maxLength: 6,
      },
    ),
    escalationSlack: fc.integer({ min: 1, max: 20 }),
  })
  .map(({ firstDay, steps, escalationSlack }) => {
    let day = firstDay;
    const levels = steps.map((s, i) => {
      const level = {
        level: i + 1,
        name: `Stufe ${i + 1}`,
        daysAfterDue: day,
        feeCents: i === 0 ? 0 : 150,
        paymentDeadlineDays: s.deadline,
        chargesInterest: i > 0,
      };
      day += s.deadline + s.slack;
      return level;
    });
    const lastDeadline = steps[steps.length - 1]!.deadline;
    return parseDunningPolicy({
      debtorType: 'consumer',
      levels,
      escalation: { afterDaysFromLastLevel: lastDeadline + escalationSlack, options: ['collection'] },
    });
  });

describe('planDunningStep over random run dates', () => {
  it('sends levels 1..k in order, none twice, none early, and each after the previous deadline', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 0, max: 2_000 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }),
        (p, dueOffset, offsets) => {
          const due = addDays(d('2024-01-01'), dueOffset);
          const runDays = [...offsets].sort((a, b) => a - b).map((o) => addDays(due, o));
          const { sent } = simulate(p, due, runDays);

          expect(sent.map((s) => s.level)).toEqual(sent.map((_, i) => i + 1));
          sent.forEach((letter, i) => {
            const level = p.levels[i]!;
            expect(daysBetween(due, letter.sentOn)).toBeGreaterThanOrEqual(level.daysAfterDue);
            const previous = sent[i - 1];
            if (previous) {
              const prevLevel = p.levels[i - 1]!;
              expect(daysBetween(previous.sentOn, letter.sentOn)).toBeGreaterThanOrEqual(
                level.daysAfterDue - prevLevel.daysAfterDue,
              );
              expect(letter.sentOn > paymentDeadline(prevLevel, previous.sentOn)).toBe(true);
            }
          });
        },
      ),
    );
  });

  it('catches up to the end of the ladder once runs resume daily, whatever was missed', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 200 }),
        (p, offsets, outageEnd) => {
          const earlyRuns = offsets.filter((o) => o < outageEnd).sort((a, b) => a - b);
          const runDays = [...earlyRuns, ...Array.from({ length: 600 }, (_, i) => outageEnd + i)].map((o) =>
            addDays(dueDate, o),
          );
          const { sent, decisions } = simulate(p, dueDate, runDays);
          expect(sent.map((s) => s.level)).toEqual(p.levels.map((l) => l.level));
          expect(decisions.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
