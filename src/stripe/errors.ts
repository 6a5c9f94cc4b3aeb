import Stripe from 'stripe';
import {
  AppError,
  NotFoundError,
  UnavailableError,
  UpstreamError,
  ValidationError,
} from '../platform/errors.ts';

/**
 * Wraps a Stripe failure in our catalogue. Stripe's code and request id travel on the error (`error.stripe`) and
 * are logged by the error handler, for support; a 5xx never shows Stripe's raw message to the caller.
 * Call it where Stripe is called: `await x().catch(wrapStripeError)`.
 */
export function wrapStripeError(err: unknown): never {
  if (err instanceof AppError) throw err;
  if (!(err instanceof Stripe.errors.StripeError)) throw err;
  throw Object.assign(translate(err), {
    stripe: { type: err.type, code: err.code, requestId: err.requestId },
  });
}

function translate(err: Stripe.errors.StripeError): AppError {
  if (err instanceof Stripe.errors.StripeCardError) {
    return new AppError('payment_declined', 402, err.message);
  }
  if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) {
    return new NotFoundError('Stripe object');
  }
  if (err instanceof Stripe.errors.StripeInvalidRequestError) {
    return new ValidationError(
      `Stripe rejected the request${err.param ? ` (${err.param})` : ''}: ${err.message}`,
      [{ field: err.param ?? 'request', message: err.code ?? 'invalid' }],
    );
  }
  if (
    err instanceof Stripe.errors.StripeConnectionError ||
    err instanceof Stripe.errors.StripeRateLimitError
  ) {
    return new UnavailableError('Stripe is not reachable right now; try again shortly.');
  }
  return new UpstreamError('Stripe could not complete the request.', err.code, err.requestId);
}
