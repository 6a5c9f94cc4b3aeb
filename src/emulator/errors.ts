/**
 * Stripe-shaped API errors. Every failure the emulator answers is one of these, so the SDK maps it to
 * the same error class it would for api.stripe.com (StripeInvalidRequestError, StripeAuthenticationError,
 * StripeIdempotencyError, ...).
 */

/** The `error` member of a Stripe error response. */
export interface StripeErrorBody {
  type: 'invalid_request_error' | 'authentication_error' | 'idempotency_error' | 'api_error' | 'card_error';
  code?: string;
  message: string;
  param?: string;
  doc_url?: string;
  request_log_url?: string;
  [extra: string]: unknown;
}

/** An error the HTTP layer turns into `{error: body}` with `status` (and optional extra headers). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
}

function docUrl(code: string): string {
  return `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}`;
}

function invalid(status: number, message: string, param?: string, code?: string): ApiError {
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (code) {
    body.code = code;
    body.doc_url = docUrl(code);
  }
  if (param !== undefined) body.param = param;
  return new ApiError(status, body);
}

/** The catalogue of errors, named after Stripe's error codes. */
export const errors = {
  /** 404 for an object that does not exist (or a 400 when the id came in as another parameter). */
  resourceMissing(objectName: string, id: string, param = 'id', status = 404): ApiError {
    return invalid(status, `No such ${objectName}: '${id}'`, param, 'resource_missing');
  },
  /** 400 for a caller-chosen id that is taken. */
  resourceExists(param: string, message: string): ApiError {
    return invalid(400, message, param, 'resource_already_exists');
  },
  parameterMissing(param: string): ApiError {
    return invalid(400, `Missing required param: ${param}.`, param, 'parameter_missing');
  },
  parameterUnknown(param: string): ApiError {
    return invalid(400, `Received unknown parameter: ${param}`, param, 'parameter_unknown');
  },
  invalidInteger(param: string, value: string): ApiError {
    return invalid(400, `Invalid integer: ${value}`, param, 'parameter_invalid_integer');
  },
  invalidEmpty(param: string): ApiError {
    return invalid(
      400,
      `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
      param,
      'parameter_invalid_empty',
    );
  },
  parametersExclusive(params: string[]): ApiError {
    return invalid(
      400,
      `You may only specify one of these parameters: ${params.join(', ')}.`,
      params[0],
      'parameters_exclusive',
    );
  },
  /** Any other bad value: wrong type, not in an enum, out of range. */
  invalidParam(param: string | undefined, message: string, code?: string): ApiError {
    return invalid(400, message, param, code);
  },
  unrecognizedUrl(method: string, path: string): ApiError {
    return invalid(
      404,
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    );
  },
  authentication(message: string): ApiError {
    return new ApiError(401, { type: 'invalid_request_error', message });
  },
  idempotencyMismatch(key: string): ApiError {
    return new ApiError(
      400,
      {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      },
      { 'Stripe-Should-Retry': 'false' },
    );
  },
  /**
   * Stripe answers a key whose first request is still running with 409. The SDK retries a 409 (after
   * backoff, with the same key) unless told otherwise, and the retry then gets the replay; so we say
   * `Stripe-Should-Retry: true` explicitly.
   */
  idempotencyInUse(key: string): ApiError {
    return new ApiError(
      409,
      {
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        doc_url: docUrl('idempotency_key_in_use'),
        message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      },
      { 'Stripe-Should-Retry': 'true' },
    );
  },
  internal(): ApiError {
    return new ApiError(
      500,
      { type: 'api_error', message: 'An unknown error occurred in the Stripe emulator.' },
      { 'Stripe-Should-Retry': 'false' },
    );
  },
};
