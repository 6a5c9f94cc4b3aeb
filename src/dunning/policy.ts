/**
 * Dunning policies: the ladder of letters (Mahnstufen), when each goes out, what it costs the
 * buyer, and what happens after the last one. One policy per debtor type, set by the admin and
 * overridable per dealer.
 *
 * Fees (Mahngebühren): only actual costs are recoverable (§§ 280, 286 BGB: damage caused by the
 * delay) — paper, print, postage, not staff time. Courts accept roughly € 1–€ 3, so a fee is capped
 * at € 5.00: room for a registered letter, and nothing a court would cut down (an inflated fee makes
 * the whole claim look inflated in a later Mahnverfahren).
 *
 * The first letter is always free. For our invoices ("zahlbar bis <Datum>") default begins without a
 * reminder (§ 286 Abs. 2 Nr. 1 BGB), so strictly even the first letter could carry its costs. But a
 * policy cannot know that every invoice it applies to carried a calendar date; where one did not,
 * the first letter is the reminder that puts the buyer in default, and that one is not chargeable.
 * Level 1 is also the friendly "Zahlungserinnerung" that most late payers only need.
 */
import { z } from 'zod';
import { type Cents, cents } from '../platform/money.ts';
import { InvalidDunningPolicyError, issuesFromZod } from './errors.ts';
import { DEBTOR_TYPES, type DebtorType } from './interest.ts';

export type { DebtorType } from './interest.ts';

/** What may happen after the last letter; a human chooses (see `planDunningStep`). */
export const ESCALATION_OPTIONS = ['collection', 'court', 'write_off'] as const;
/** Inkasso hand-over, gerichtliches Mahnverfahren, or Ausbuchung. */
export type EscalationOption = (typeof ESCALATION_OPTIONS)[number];

/** Highest fee per letter: actual costs only (see the module comment). */
export const MAX_DUNNING_FEE_CENTS = 500;
/** More letters than this only delay the decision the last one announces. */
export const MAX_DUNNING_LEVELS = 8;
const MAX_DAYS = 365;

const levelSchema = z
  .object({
    level: z.number().int().min(1),
    name: z.string().trim().min(1).max(60),
    daysAfterDue: z
      .number()
      .int()
      .min(1, 'must be at least 1: on or before the due date the buyer is not late')
      .max(MAX_DAYS),
    feeCents: z
      .number()
      .int()
      .min(0, 'must not be negative')
      .max(MAX_DUNNING_FEE_CENTS, `actual costs only: at most ${MAX_DUNNING_FEE_CENTS} cents`),
    paymentDeadlineDays: z.number().int().min(1, 'a letter must give the buyer at least a day').max(MAX_DAYS),
    chargesInterest: z.boolean(),
  })
  .strict();

const escalationSchema = z
  .object({
    afterDaysFromLastLevel: z.number().int().min(1, 'must be at least 1').max(MAX_DAYS),
    options: z
      .array(z.enum(ESCALATION_OPTIONS))
      .min(1, 'name at least one way to go on')
      .refine((o) => new Set(o).size === o.length, 'each option once'),
  })
  .strict();

/** Validates a whole policy; the refinements are the rules of the ladder. */
export const dunningPolicySchema = z
  .object({
    debtorType: z.enum(DEBTOR_TYPES),
    levels: z.array(levelSchema).min(1, 'at least one letter').max(MAX_DUNNING_LEVELS),
    escalation: escalationSchema,
  })
  .strict()
  .superRefine((policy, ctx) => {
    policy.levels.forEach((lvl, i) => {
      if (lvl.level !== i + 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', i, 'level'],
          message: `levels must be numbered 1, 2, 3 … in order; expected ${i + 1}, got ${lvl.level}`,
        });
      }
      const prev = policy.levels[i - 1];
      // The next letter must wait until the previous letter's deadline has passed, or the buyer
      // gets "final reminder" while still inside the time we gave them.
      if (prev && lvl.daysAfterDue <= prev.daysAfterDue + prev.paymentDeadlineDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', i, 'daysAfterDue'],
          message:
            `must be later than the previous level's day plus its payment deadline ` +
            `(${prev.daysAfterDue} + ${prev.paymentDeadlineDays}); levels go strictly forward in time`,
        });
      }
    });
    const first = policy.levels[0];
    if (first && first.feeCents !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['levels', 0, 'feeCents'],
        message: 'the first letter may be the one that puts the buyer in default, which is not chargeable',
      });
    }
    const last = policy.levels[policy.levels.length - 1];
    if (last && policy.escalation.afterDaysFromLastLevel <= last.paymentDeadlineDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalation', 'afterDaysFromLastLevel'],
        message: `must be later than the last letter's payment deadline (${last.paymentDeadlineDays} days)`,
      });
    }
  });

/** A validated dunning policy. */
export type DunningPolicy = z.infer<typeof dunningPolicySchema>;
/** One letter of the ladder (Mahnstufe). */
export type DunningLevel = DunningPolicy['levels'][number];
/** What happens after the last letter. */
export type DunningEscalation = DunningPolicy['escalation'];

/** A dealer's changes to a base policy: patch levels by number, append, cut, or change escalation. */
export const dunningPolicyOverrideSchema = z
  .object({
    /** Each entry changes the level with that number; the number after the last appends a level. */
    levels: z
      .array(levelSchema.partial().extend({ level: z.number().int().min(1) }))
      .max(MAX_DUNNING_LEVELS)
      .optional(),
    /** Keep only the first n levels (applied after `levels`). */
    levelCount: z.number().int().min(1).max(MAX_DUNNING_LEVELS).optional(),
    escalation: escalationSchema.partial().optional(),
  })
  .strict();

/** A dealer's override of a base policy. */
export type DunningPolicyOverride = z.infer<typeof dunningPolicyOverrideSchema>;

/** Validates a policy; throws InvalidDunningPolicyError whose details name each offending field. */
export function parseDunningPolicy(input: unknown): DunningPolicy {
  const parsed = dunningPolicySchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidDunningPolicyError('invalid dunning policy', issuesFromZod(parsed.error.issues));
  }
  return parsed.data;
}

/** Applies a dealer override to a base policy and validates the result as a whole. */
export function mergePolicy(
  base: DunningPolicy,
  dealerOverride: DunningPolicyOverride | undefined,
): DunningPolicy {
  if (!dealerOverride) return parseDunningPolicy(base);
  const parsed = dunningPolicyOverrideSchema.safeParse(dealerOverride);
  if (!parsed.success) {
    throw new InvalidDunningPolicyError('invalid dealer override', issuesFromZod(parsed.error.issues));
  }
  const override = parsed.data;
  const levels: Partial<DunningLevel>[] = base.levels.map((l) => ({ ...l }));
  for (const [i, patch] of (override.levels ?? []).entries()) {
    const existing = levels[patch.level - 1];
    if (existing) {
      Object.assign(existing, withoutUndefined(patch));
    } else if (patch.level === levels.length + 1) {
      levels.push(withoutUndefined(patch));
    } else {
      throw new InvalidDunningPolicyError('invalid dealer override', [
        {
          path: `levels.${i}.level`,
          message: `no level ${patch.level} to change; a new level must be number ${levels.length + 1}`,
        },
      ]);
    }
  }
  const merged = {
    debtorType: base.debtorType,
    levels: override.levelCount === undefined ? levels : levels.slice(0, override.levelCount),
    escalation: { ...base.escalation, ...withoutUndefined(override.escalation ?? {}) },
  };
  const result = dunningPolicySchema.safeParse(merged);
  if (!result.success) {
    throw new InvalidDunningPolicyError(
      'the dealer override makes the policy invalid',
      issuesFromZod(result.error.issues),
    );
  }
  return result.data;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The level with this number, or undefined past the end of the ladder. */
export function levelOf(policy: DunningPolicy, level: number): DunningLevel | undefined {
  return policy.levels[level - 1];
}

/**
 * § 498 Abs. 1 Nr. 2 BGB: the whole of a consumer loan may be called only after a two-week deadline set
 * with the warning that it will be. arrears.ts counts the same 14 days from the letter's date.
 */
export const LOAN_CALL_WARNING_DAYS = 14;

/**
 * The policy for an invoice of a financing plan: its last letter is the § 498 warning, so it gives at
 * least two weeks, and the decision after it waits until they have passed (the shipped ladder gives
 * 10 days, which would not count as the warning). Applied when the case opens, so the buyer's dates
 * stay what the letters said. Business buyers get the same two weeks: harmless, and one rule.
 */
export function financingPolicy(policy: DunningPolicy): DunningPolicy {
  const last = policy.levels[policy.levels.length - 1];
  if (!last || last.paymentDeadlineDays >= LOAN_CALL_WARNING_DAYS) return policy;
  return parseDunningPolicy({
    ...policy,
    levels: [...policy.levels.slice(0, -1), { ...last, paymentDeadlineDays: LOAN_CALL_WARNING_DAYS }],
    escalation: {
      ...policy.escalation,
      afterDaysFromLastLevel: Math.max(policy.escalation.afterDaysFromLastLevel, LOAN_CALL_WARNING_DAYS + 1),
    },
  });
}

/** One itemised charge in a letter. */
export interface Charge {
  label: string;
  amount: Cents;
}

/** The fees of every letter up to and including `level`, itemised (a later letter repeats earlier fees). */
export function feesUpToLevel(policy: DunningPolicy, level: number): Charge[] {
  return policy.levels
    .filter((l) => l.level <= level && l.feeCents > 0)
    .map((l) => ({ label: `Mahngebühr ${l.name}`, amount: cents(l.feeCents) }));
}

/*
 * Defaults. Letters go out 7, 21, 35 and 49 days after the due date; each gives 10 days to pay, so
 * the next letter comes four days after the previous deadline (time for a transfer to arrive).
 * Two weeks after the last letter a human decides: Inkasso, court or write-off.
 *
 * Consumers: the reminder is free; € 1.50 covers print, envelope and a standard letter; the last
 * letter costs € 2.50 because it goes by Einwurf-Einschreiben to prove receipt before hand-over.
 * Businesses: no fees at all. They owe the € 40 Verzugspauschale, and § 288 Abs. 5 S. 3 BGB counts
 * it against costs of pursuing the claim — dunning fees included — so charging both would charge
 * the same costs twice. Interest is claimed from the first Mahnung on; the reminder stays friendly.
 */
const DEFAULT_LADDER: readonly Omit<DunningLevel, 'feeCents'>[] = [
  { level: 1, name: 'Zahlungserinnerung', daysAfterDue: 7, paymentDeadlineDays: 10, chargesInterest: false },
  { level: 2, name: '1. Mahnung', daysAfterDue: 21, paymentDeadlineDays: 10, chargesInterest: true },
  { level: 3, name: '2. Mahnung', daysAfterDue: 35, paymentDeadlineDays: 10, chargesInterest: true },
  { level: 4, name: 'Letzte Mahnung', daysAfterDue: 49, paymentDeadlineDays: 10, chargesInterest: true },
];

const CONSUMER_FEES = [0, 150, 150, 250] as const;

/** The shipped policies, valid by construction (checked at import). */
export const DEFAULT_POLICIES: Readonly<Record<DebtorType, DunningPolicy>> = Object.freeze({
  consumer: parseDunningPolicy({
    debtorType: 'consumer',
    levels: DEFAULT_LADDER.map((l, i) => ({ ...l, feeCents: CONSUMER_FEES[i] ?? 0 })),
    escalation: { afterDaysFromLastLevel: 14, options: ['collection', 'court', 'write_off'] },
  }),
  business: parseDunningPolicy({
    debtorType: 'business',
    levels: DEFAULT_LADDER.map((l) => ({ ...l, feeCents: 0 })),
    escalation: { afterDaysFromLastLevel: 14, options: ['collection', 'court', 'write_off'] },
  }),
});
