import type Stripe from 'stripe';
import type { Clock } from '../platform/clock.ts';
import type { Db } from '../platform/db/index.ts';
import { readSetting, writeSetting } from '../platform/settings.ts';

interface StoredEndpoint {
  id: string;
  url: string;
  secret: string;
}

const SETTING = 'stripe_webhook_endpoint';

/**
 * Offline: makes sure the emulator delivers to this service. Reuses the endpoint registered by an earlier
 * start (its secret is only shown at creation, so we keep it), or registers a new one for every event type.
 * Returns the signing secret.
 */
export async function ensureWebhookEndpoint(
  stripe: Stripe,
  db: Db,
  clock: Clock,
  url: string,
): Promise<string> {
  const stored = await readSetting<StoredEndpoint>(db, SETTING);
  if (stored && stored.url === url) {
    try {
      const existing = await stripe.webhookEndpoints.retrieve(stored.id);
      if (existing.url === url && existing.status === 'enabled') return stored.secret;
    } catch {
      // Gone (emulator reset): register again below.
    }
  }
  const created = await stripe.webhookEndpoints.create({
    url,
    enabled_events: ['*'],
    description: 'morelo-payments (registered automatically in offline mode)',
  });
  if (!created.secret) throw new Error('the webhook endpoint was created without a signing secret');
  await writeSetting(db, SETTING, { id: created.id, url, secret: created.secret }, new Date(clock.now()));
  return created.secret;
}
