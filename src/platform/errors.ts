/**
 * The error catalogue. Every error the API answers with is one of these classes, each with a stable
 * string `code` and an HTTP status; one handler (platform/http-errors.ts) turns them into the contract's body.
 */

/** One field-level problem, as listed in `error.details`. */
export interface ErrorDetail {
  field: string;
  message: string;
}

/** What Stripe said when a Stripe call failed: logged with the error, for support (never shown to the caller). */
export interface StripeFailure {
  type: string;
  code: string | undefined;
  requestId: string | undefined;
}

/** Base class: a stable code, an HTTP status, a message safe to show to the caller. */
export class AppError extends Error {
  /** Set when the error came from a Stripe call. */
  stripe?: StripeFailure;

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed or a field is invalid. */
export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetail[], code = 'invalid_request') {
    super(code, 400, message, details);
  }
}

/** 401: no key, or a key we do not know. */
export class UnauthorizedError extends AppError {
  constructor(message = 'Missing or invalid API key. Send "Authorization: Bearer <key>".') {
    super('unauthorized', 401, message);
  }
}

/** 403: the caller is known but may not do this. */
export class ForbiddenError extends AppError {
  constructor(message: string, details?: ErrorDetail[]) {
    super('forbidden', 403, message, details);
  }
}

/** 404: no such object — or one that belongs to another dealer, which must look the same. */
export class NotFoundError extends AppError {
  constructor(what: string, id?: string) {
    super('not_found', 404, id ? `${what} ${id} not found.` : `${what} not found.`);
  }
}

/** 409: a conflicting state, e.g. the same idempotency key is still being processed. */
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(code, 409, message);
  }
}

/** 422: the request is well-formed but cannot be applied (e.g. an idempotency key reused with another body). */
export class UnprocessableError extends AppError {
  constructor(message: string, code = 'unprocessable') {
    super(code, 422, message);
  }
}

/** 502/503: Stripe failed or could not be reached; keeps Stripe's code and request id for support. */
export class UpstreamError extends AppError {
  constructor(
    message: string,
    readonly stripeCode?: string,
    readonly stripeRequestId?: string,
    status = 502,
  ) {
    super('stripe_error', status, message);
  }
}

/** 503: a dependency (database, Stripe) is not available right now. */
export class UnavailableError extends AppError {
  constructor(message: string) {
    super('unavailable', 503, message);
  }
}
