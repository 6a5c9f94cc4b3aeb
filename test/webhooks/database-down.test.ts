import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.ts';

const SECRET = 'whsec_databasedowntest0001';

describe('a webhook while the database is down', () => {
  it('is answered 5xx (so Stripe retries) without internals, and nothing is acknowledged', async () => {
    const t = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: SECRET } });
    const payload = JSON.stringify({
      id: 'evt_db_down',
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'in_x', object: 'invoice' } },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'invoice.paid',
    });
    const signature = new Stripe('sk_test_signer').webhooks.generateTestHeaderString({
      payload,
      secret: SECRET,
    });
    await t.database.close();
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/webhooks/stripe',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        payload,
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(res.json().error.code).toBe('internal_error');
      expect(res.body).not.toMatch(/pglite|pool|ECONN|stack/i);
    } finally {
      await t.close();
    }
  });
});
