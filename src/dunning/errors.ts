/**
 * Errors of the dunning core. Each has a stable `code` and the HTTP status it maps to, so the
 * app's single error handler can translate them without knowing dunning internals.
 */

/** One problem in an input, located by its dotted path (e.g. `levels.1.daysAfterDue`). */
export interface DunningIssue {
  path: string;
  message: string;
}

/** Base class: a stable machine code, an HTTP status and optional per-field details. */
export abstract class DunningError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  constructor(
    message: string,
    readonly details: readonly DunningIssue[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A dunning policy (or a dealer override merged into one) breaks a rule; details name the fields. */
export class InvalidDunningPolicyError extends DunningError {
  readonly code = 'invalid_dunning_policy';
  readonly statusCode = 422;
}

/** The base-rate table given as data is malformed, unsorted or has duplicate dates. */
export class InvalidBaseRateTableError extends DunningError {
  readonly code = 'invalid_base_rate_table';
  readonly statusCode = 422;
}

/** Interest was asked for a day before the first entry of the base-rate table. */
export class BaseRateUnknownError extends DunningError {
  readonly code = 'base_rate_unknown';
  readonly statusCode = 422;
}

/** Inputs to an interest calculation, a plan or a letter contradict each other. */
export class InvalidDunningInputError extends DunningError {
  readonly code = 'invalid_dunning_input';
  readonly statusCode = 422;
}

/**
 * The recorded letters of a case have a gap (level 3 sent, level 2 never). Planning on such a
 * history could send letters out of order, so it stops and asks for a human look.
 */
export class InconsistentDunningHistoryError extends DunningError {
  readonly code = 'inconsistent_dunning_history';
  readonly statusCode = 409;
}

/** Turns zod issues into our `{path, message}` details. */
export function issuesFromZod(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): DunningIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}
