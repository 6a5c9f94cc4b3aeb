import { describe, expect, it } from 'vitest';
import { InvalidDunningPolicyError } from '../../src/dunning/errors.ts';
import {
  DEFAULT_POLICIES,
  type DunningPolicy,
  feesUpToLevel,
  financingPolicy,
  LOAN_CALL_WARNING_DAYS,
  mergePolicy,
  parseDunningPolicy,
} from '../../src/dunning/policy.ts';

function pathsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidDunningPolicyError) {
      expect(err.code).toBe('invalid_dunning_policy');
      expect(err.statusCode).toBe(422);
      return err.details.map((d) => d.path);
    }
    throw err;
  }
  throw new Error('expected InvalidDunningPolicyError');
}

function withLevels(levels: unknown[]): unknown {
  return { ...structuredClone(DEFAULT_POLICIES.consumer), levels };
}

const consumer = DEFAULT_POLICIES.consumer;

describe('default policies', () => {
  it('ship the four-letter ladder for consumers with a free reminder and actual-cost fees', () => {
    expect(consumer.levels.map((l) => [l.level, l.name, l.daysAfterDue, l.feeCents])).toEqual([
      [1, 'Zahlungserinnerung', 7, 0],
      [2, '1. Mahnung', 21, 150],
      [3, '2. Mahnung', 35, 150],
      [4, 'Letzte Mahnung', 49, 250],
    ]);
    expect(consumer.escalation.options).toEqual(['collection', 'court', 'write_off']);
  });

  it('charge businesses no dunning fees, because the € 40 flat fee already covers them', () => {
    expect(DEFAULT_POLICIES.business.levels.every((l) => l.feeCents === 0)).toBe(true);
    expect(DEFAULT_POLICIES.business.debtorType).toBe('business');
  });
});

describe('policy validation', () => {
  it('names the level whose day is out of order', () => {
    const levels = structuredClone(consumer.levels) as DunningPolicy['levels'];
    levels[2]!.daysAfterDue = 14;
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels)))).toContain('levels.2.daysAfterDue');
  });

  it('names levels listed out of order', () => {
    const [first, second, ...rest] = structuredClone(consumer.levels);
    expect(pathsOf(() => parseDunningPolicy(withLevels([second, first, ...rest])))).toEqual(
      expect.arrayContaining(['levels.0.level', 'levels.1.level']),
    );
  });

  it('names negative days', () => {
    const levels = structuredClone(consumer.levels) as DunningPolicy['levels'];
    levels[0]!.daysAfterDue = -3;
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels)))).toContain('levels.0.daysAfterDue');
  });

  it('refuses a letter on the due date itself', () => {
    const levels = structuredClone(consumer.levels) as DunningPolicy['levels'];
    levels[0]!.daysAfterDue = 0;
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels)))).toEqual(['levels.0.daysAfterDue']);
  });

  it('refuses a next letter before the previous deadline has run out', () => {
    const levels = structuredClone(consumer.levels) as DunningPolicy['levels'];
    levels[1]!.daysAfterDue = 17; // level 1: day 7 + 10 days to pay = day 17
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels)))).toEqual(['levels.1.daysAfterDue']);
  });

  it('names negative and excessive fees, and a fee on the first letter', () => {
    const levels = structuredClone(consumer.levels) as DunningPolicy['levels'];
    levels[0]!.feeCents = 100;
    levels[1]!.feeCents = -1;
    levels[2]!.feeCents = 501;
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels))).sort()).toEqual([
      'levels.0.feeCents',
      'levels.1.feeCents',
      'levels.2.feeCents',
    ]);
  });

  it('names an escalation that comes before the last deadline and a missing option list', () => {
    const policy = {
      ...structuredClone(consumer),
      escalation: { afterDaysFromLastLevel: 10, options: ['collection'] },
    };
    expect(pathsOf(() => parseDunningPolicy(policy))).toEqual(['escalation.afterDaysFromLastLevel']);
    const noOptions = {
      ...structuredClone(consumer),
      escalation: { afterDaysFromLastLevel: 14, options: [] },
    };
    expect(pathsOf(() => parseDunningPolicy(noOptions))).toEqual(['escalation.options']);
  });

  it('rejects unknown fields instead of ignoring a typo', () => {
    const levels = structuredClone(consumer.levels).map((l) => ({ ...l }));
    (levels[1] as Record<string, unknown>).fee = 300;
    expect(pathsOf(() => parseDunningPolicy(withLevels(levels)))).toEqual(['levels.1']);
  });
});

describe('mergePolicy', () => {
  it('patches one level of the base and keeps the rest', () => {
    const merged = mergePolicy(consumer, { levels: [{ level: 2, feeCents: 100, name: 'Mahnung' }] });
    expect(merged.levels[1]).toEqual({ ...consumer.levels[1], feeCents: 100, name: 'Mahnung' });
    expect(merged.levels.slice(2)).toEqual(consumer.levels.slice(2));
    expect(consumer.levels[1]!.feeCents).toBe(150); // the base is not changed
  });

  it('shortens the ladder and changes the escalation', () => {
    const merged = mergePolicy(consumer, { levelCount: 2, escalation: { options: ['court'] } });
    expect(merged.levels.map((l) => l.level)).toEqual([1, 2]);
    expect(merged.escalation).toEqual({ afterDaysFromLastLevel: 14, options: ['court'] });
  });

  it('appends a complete level after the last', () => {
    const merged = mergePolicy(consumer, {
      levels: [
        {
          level: 5,
          name: 'Allerletzte Mahnung',
          daysAfterDue: 63,
          feeCents: 0,
          paymentDeadlineDays: 7,
          chargesInterest: true,
        },
      ],
    });
    expect(merged.levels).toHaveLength(5);
  });

  it('validates the merged result and names the field', () => {
    expect(pathsOf(() => mergePolicy(consumer, { levels: [{ level: 3, daysAfterDue: 20 }] }))).toContain(
      'levels.2.daysAfterDue',
    );
    expect(pathsOf(() => mergePolicy(consumer, { levels: [{ level: 7, feeCents: 0 }] }))).toEqual([
      'levels.0.level',
    ]);
    expect(pathsOf(() => mergePolicy(consumer, { levels: [{ level: 5, feeCents: 100 }] }))).toEqual(
      expect.arrayContaining(['levels.4.name', 'levels.4.daysAfterDue']),
    );
  });

  it('returns the base when there is no override', () => {
    expect(mergePolicy(consumer, undefined)).toEqual(consumer);
  });
});

describe('feesUpToLevel', () => {
  it('lists the fee of every letter sent so far, nothing for the free reminder', () => {
    expect(feesUpToLevel(consumer, 1)).toEqual([]);
    expect(feesUpToLevel(consumer, 3)).toEqual([
      { label: 'Mahngebühr 1. Mahnung', amount: 150 },
      { label: 'Mahngebühr 2. Mahnung', amount: 150 },
    ]);
  });
});

describe('financingPolicy', () => {
  it('gives the last letter the two weeks of § 498 BGB and lets the decision wait for them', () => {
    const policy = financingPolicy(consumer);
    expect(policy.levels.slice(0, -1)).toEqual(consumer.levels.slice(0, -1));
    expect(policy.levels.at(-1)).toEqual({
      ...consumer.levels.at(-1),
      paymentDeadlineDays: LOAN_CALL_WARNING_DAYS,
    });
    expect(policy.escalation).toEqual({ ...consumer.escalation, afterDaysFromLastLevel: 15 });
  });

  it('keeps a policy that already gives two weeks or more', () => {
    const generous = mergePolicy(consumer, {
      levels: [{ level: 4, paymentDeadlineDays: 21 }],
      escalation: { afterDaysFromLastLevel: 28 },
    });
    expect(financingPolicy(generous)).toEqual(generous);
  });
});
