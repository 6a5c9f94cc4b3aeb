/**
 * Idempotency keys for Stripe calls, derived from our own ids and the effect intended — never from an
 * attempt counter or a timestamp — so any retry of the same intent reaches Stripe with the same key.
 */
export function stripeIdempotencyKey(objectType: string, objectId: string, effect: string): string {
  const key = `morelo:${objectType}:${objectId}:${effect}`;
  if (key.length > 255) throw new RangeError('Stripe idempotency keys are at most 255 characters');
  return key;
}
