/**
 * Which dunning step a case needs today, computed from dates and history alone. The worker may run
 * daily, hourly or after a week of downtime: the answer depends only on what was sent and when, so a
 * late run catches up and a repeated run changes nothing.
 *
 * Catch-up rule: one level per run, never skipping one. A letter that goes out late pushes the next
 * one back: level n+1 waits until the policy's gap between the two levels (daysAfterDue of n+1
 * minus that of n) has passed since level n was actually sent. The policy guarantees that gap is
 * longer than level n's payment deadline, so every buyer gets the full time each letter promises,
 * whenever it was sent.
 */
import { addDays, type BusinessDate, compareDates } from '../platform/dates.ts';
import { InconsistentDunningHistoryError, InvalidDunningInputError } from './errors.ts';
import { type DunningLevel, type DunningPolicy, levelOf } from './policy.ts';

/** A letter already sent for this case. */
export interface SentLetter {
  level: number;
  sentOn: BusinessDate;
}

/** Everything the planner needs to know about one dunning case (one open invoice). */
export interface DunningCaseState {
  policy: DunningPolicy;
  dueDate: BusinessDate;
  today: BusinessDate;
  lettersSent: readonly SentLetter[];
  /** Mahnstopp set for this invoice or its customer. */
  paused: boolean;
  /** Still owed, in cents; zero or less means paid. */
  openAmount: number;
  /** A payment (SEPA debit, transfer) has been started and has not yet succeeded or failed. */
  paymentProcessing: boolean;
  /** The buyer contests the claim. */
  disputed: boolean;
  /**
   * Money of the buyer arrived by bank transfer but Stripe matched it to no invoice (less than the open
   * amount, or an unknown reference). Absent means none.
   */
  unappliedTransfer?: boolean;
}

/**
 * Why the planner answered as it did:
 * - `paid`: nothing is owed any more; the case closes.
 * - `disputed`: a contested claim (e.g. a defect the buyer withholds payment for, § 320 BGB) may not
 *   be in default at all; a human or lawyer decides, not a letter machine.
 * - `paused`: a Mahnstopp is set for the invoice or the customer.
 * - `payment_processing`: money is on its way; a letter now would dun a buyer who has paid. If the
 *   payment fails, the ladder resumes where it stood.
 * - `unapplied_transfer`: the buyer has sent money that is not matched to an invoice yet; a letter
 *   demanding the full amount would be wrong until a human matches or returns it.
 * - `level_due`: the next letter's day has come.
 * - `waiting`: the next letter's (or the decision's) day has not come yet.
 * - `ladder_complete`: every letter was sent and the last deadline has passed; a human chooses
 *   among the policy's escalation options.
 */
export type DunningReason =
  | 'paid'
  | 'disputed'
  | 'paused'
  | 'payment_processing'
  | 'unapplied_transfer'
  | 'level_due'
  | 'waiting'
  | 'ladder_complete';

/** What to do now. */
export type DunningStep =
  | { action: 'none'; reason: DunningReason; level?: number }
  | { action: 'send_letter'; level: number; reason: 'level_due' }
  | { action: 'await_decision'; reason: 'ladder_complete' }
  | { action: 'close'; reason: 'paid' };

/** What will happen next and on which day (`on` is null while something blocks the case). */
export interface NextDunningAction {
  action: 'none' | 'send_letter' | 'await_decision' | 'close';
  level?: number;
  on: BusinessDate | null;
  reason: DunningReason;
}

type Upcoming =
  | { kind: 'closed' }
  | { kind: 'blocked'; reason: 'disputed' | 'paused' | 'payment_processing' | 'unapplied_transfer' }
  | { kind: 'letter'; level: number; earliest: BusinessDate }
  | { kind: 'decision'; earliest: BusinessDate };

/** Decides the step for today: at most one letter, the lowest level not yet sent, once its day has come. */
export function planDunningStep(state: DunningCaseState): DunningStep {
  const next = upcoming(state);
  switch (next.kind) {
    case 'closed':
      return { action: 'close', reason: 'paid' };
    case 'blocked':
      return { action: 'none', reason: next.reason };
    case 'letter':
      return compareDates(next.earliest, state.today) <= 0
        ? { action: 'send_letter', level: next.level, reason: 'level_due' }
        : { action: 'none', reason: 'waiting', level: next.level };
    case 'decision':
      return compareDates(next.earliest, state.today) <= 0
        ? { action: 'await_decision', reason: 'ladder_complete' }
        : { action: 'none', reason: 'waiting' };
  }
}

/** The next action of a case and its date, for the API; a date already passed is reported as today. */
export function nextActionDate(state: DunningCaseState): NextDunningAction {
  const next = upcoming(state);
  const notBefore = (d: BusinessDate): BusinessDate => (compareDates(d, state.today) < 0 ? state.today : d);
  const isDue = (d: BusinessDate): boolean => compareDates(d, state.today) <= 0;
  switch (next.kind) {
    case 'closed':
      return { action: 'close', on: state.today, reason: 'paid' };
    case 'blocked':
      return { action: 'none', on: null, reason: next.reason };
    case 'letter':
      return {
        action: 'send_letter',
        level: next.level,
        on: notBefore(next.earliest),
        reason: isDue(next.earliest) ? 'level_due' : 'waiting',
      };
    case 'decision':
      return {
        action: 'await_decision',
        on: notBefore(next.earliest),
        reason: isDue(next.earliest) ? 'ladder_complete' : 'waiting',
      };
  }
}

function upcoming(state: DunningCaseState): Upcoming {
  const { policy, dueDate, openAmount } = state;
  if (!Number.isSafeInteger(openAmount)) {
    throw new InvalidDunningInputError('openAmount must be whole cents', [
      { path: 'openAmount', message: `not an integer: ${openAmount}` },
    ]);
  }
  // Paid wins over every other state: a paid case closes even while paused or disputed.
  if (openAmount <= 0) return { kind: 'closed' };
  if (state.disputed) return { kind: 'blocked', reason: 'disputed' };
  if (state.paused) return { kind: 'blocked', reason: 'paused' };
  if (state.paymentProcessing) return { kind: 'blocked', reason: 'payment_processing' };
  if (state.unappliedTransfer) return { kind: 'blocked', reason: 'unapplied_transfer' };

  const { highestSent, lastSentOn } = readHistory(state.lettersSent);
  const nextLevel = levelOf(policy, highestSent + 1);
  const previous = levelOf(policy, highestSent);

  if (nextLevel) {
    const onSchedule = addDays(dueDate, nextLevel.daysAfterDue);
    if (!previous || !lastSentOn) return { kind: 'letter', level: nextLevel.level, earliest: onSchedule };
    const afterPrevious = addDays(lastSentOn, gapBetween(previous, nextLevel));
    // The weekend shift of § 193 BGB can push a deadline past the policy's gap; never overtake it.
    const afterDeadline = addDays(paymentDeadline(previous, lastSentOn), 1);
    return {
      kind: 'letter',
      level: nextLevel.level,
      earliest: later(onSchedule, afterPrevious, afterDeadline),
    };
  }

  // Every level was sent (or the ladder was shortened below what was already sent).
  const last = policy.levels[policy.levels.length - 1]!;
  const wait = policy.escalation.afterDaysFromLastLevel;
  const onSchedule = addDays(dueDate, last.daysAfterDue + wait);
  if (!lastSentOn) return { kind: 'decision', earliest: onSchedule };
  const lastSent = levelOf(policy, highestSent) ?? last;
  const afterDeadline = addDays(paymentDeadline(lastSent, lastSentOn), 1);
  return { kind: 'decision', earliest: later(onSchedule, addDays(lastSentOn, wait), afterDeadline) };
}

function gapBetween(previous: DunningLevel, next: DunningLevel): number {
  return next.daysAfterDue - previous.daysAfterDue;
}

function later(first: BusinessDate, ...rest: BusinessDate[]): BusinessDate {
  return rest.reduce((max, d) => (compareDates(d, max) > 0 ? d : max), first);
}

/**
 * The highest level of an unbroken run 1..n in the history, and when the latest letter went out.
 * A duplicate record of a level is harmless (it never causes a second letter); a gap is not.
 */
function readHistory(letters: readonly SentLetter[]): { highestSent: number; lastSentOn?: BusinessDate } {
  const levels = new Set<number>();
  let lastSentOn: BusinessDate | undefined;
  for (const [i, letter] of letters.entries()) {
    if (!Number.isInteger(letter.level) || letter.level < 1) {
      throw new InvalidDunningInputError('a sent letter has no valid level', [
        { path: `lettersSent.${i}.level`, message: `not a level number: ${letter.level}` },
      ]);
    }
    levels.add(letter.level);
    if (!lastSentOn || compareDates(letter.sentOn, lastSentOn) > 0) lastSentOn = letter.sentOn;
  }
  const highestSent = levels.size === 0 ? 0 : Math.max(...levels);
  for (let level = 1; level < highestSent; level++) {
    if (!levels.has(level)) {
      throw new InconsistentDunningHistoryError(
        `level ${highestSent} was sent but level ${level} never was`,
        [{ path: 'lettersSent', message: `missing level ${level}` }],
      );
    }
  }
  return lastSentOn ? { highestSent, lastSentOn } : { highestSent };
}

/**
 * The payment deadline a letter sent on `sentOn` states: its level's days later, moved from a
 * Saturday or Sunday to the next Monday (§ 193 BGB). Public holidays are not modelled.
 */
export function paymentDeadline(level: DunningLevel, sentOn: BusinessDate): BusinessDate {
  const deadline = addDays(sentOn, level.paymentDeadlineDays);
  const weekday = new Date(`${deadline}T00:00:00Z`).getUTCDay();
  if (weekday === 6) return addDays(deadline, 2);
  if (weekday === 0) return addDays(deadline, 1);
  return deadline;
}
