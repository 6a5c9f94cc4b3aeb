import Stripe from 'stripe';
import type { Clock } from '../platform/clock.ts';
import type { Db } from '../platform/db/index.ts';
import { ValidationError } from '../platform/errors.ts';
import { webhookInbox } from './schema.ts';

/** Stripe's default tolerance between the signature timestamp and our clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Checks the signature on the raw bytes against each configured secret (two during a roll; the header may
 * carry several v1 signatures, which the SDK handles) and only then parses the event.
 */
export function verifyStripeEvent(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): Stripe.Event {
  if (!header) throw new ValidationError('Missing Stripe-Signature header.', undefined, 'invalid_signature');
  if (secrets.length === 0)
    throw new ValidationError('No webhook secret is configured.', undefined, 'invalid_signature');
  for (const secret of secrets) {
    try {
      // constructEvent verifies first and parses after; a forged body is never parsed.
      return Stripe.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw err;
    }
  }
  throw new ValidationError(
    'Stripe-Signature does not match (or is too old).',
    undefined,
    'invalid_signature',
  );
}

/**
 * Stores the event in the inbox; a duplicate delivery is a no-op. Resolves only after the row is committed,
 * so a 2xx is never sent for an event we could lose. Returns whether the event was new.
 */
export async function storeEvent(db: Db, clock: Clock, event: Stripe.Event): Promise<boolean> {
  const now = new Date(clock.now());
  const inserted = await db
    .insert(webhookInbox)
    .values({
      eventId: event.id,
      type: event.type,
      livemode: event.livemode,
      created: event.created,
      payload: event,
      status: 'pending',
      nextAttemptAt: now,
      receivedAt: now,
    })
    .onConflictDoNothing({ target: webhookInbox.eventId })
    .returning({ id: webhookInbox.eventId });
  return inserted.length > 0;
}
