import Stripe from 'stripe';
import {
  AppError,
  NotFoundError,
  UnavailableError,
  UpstreamError,
  ValidationError,
} from '../platform/errors.ts';

/**
 * Wraps a Stripe failure in our catalogue, keeping Stripe's code and request id (for support) but never
 * Stripe's raw message on a 5xx. Call it where Stripe is called: `await x().catch(wrapStripeError)`.
 */
export function wrapStripeError(err: unknown): never {
  if (err instanceof AppError) throw err;
  if (err instanceof Stripe.errors.StripeError) {
    const requestId = err.requestId;
    if (err instanceof Stripe.errors.StripeCardError) {
      const e = new AppError('payment_declined', 402, err.message);
      throw Object.assign(e, { stripeCode: err.code, stripeRequestId: requestId });
    }
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) {
      throw new NotFoundError('Stripe object');
    }
    if (err instanceof Stripe.errors.StripeInvalidRequestError) {
      throw new ValidationError(
        `Stripe rejected the request${err.param ? ` (${err.param})` : ''}: ${err.message}`,
        [{ field: err.param ?? 'request', message: err.code ?? 'invalid' }],
      );
    }
    if (
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeRateLimitError
    ) {
      throw new UnavailableError('Stripe is not reachable right now; try again shortly.');
    }
    throw new UpstreamError('Stripe could not complete the request.', err.code, requestId);
  }
  throw err;
}
