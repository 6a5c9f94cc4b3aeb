import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('events from the emulator reach the service like Stripe webhooks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ listen: true });
  });
  afterAll(() => t.close());

  it('a change made in Stripe (the dashboard) shows on the next read of the buyer', async () => {
    const dealer = await t.createDealer();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: dealer.auth,
      payload: {
        name: 'Jonas Beispiel',
        email: 'jonas@example.de',
        address: 'Hauptstraße 1, 80331 München',
        buyerId: 'B-7',
        vehicleId: 'V-7',
      },
    });
    const buyer = created.json();
    const before = await t.app.inject({ url: `/api/payments/customers/${buyer.id}`, headers: dealer.auth });
    expect(before.json().name).toBe('Jonas Beispiel');
    expect(
      (await t.app.inject({ url: `/api/payments/customers/${buyer.id}`, headers: dealer.auth })).headers[
        'x-cache'
      ],
    ).toBe('hit');

    await t.stripe.customers.update(buyer.stripeCustomerId, {
      name: 'Jonas Beispiel-Neu',
      email: 'neu@example.de',
    });
    // The emulator delivers the signed customer.updated to POST /webhooks/stripe; the inbox applies it.
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();

    const after = await t.app.inject({ url: `/api/payments/customers/${buyer.id}`, headers: dealer.auth });
    expect(after.headers['x-cache']).toBe('miss');
    expect(after.json()).toMatchObject({ name: 'Jonas Beispiel-Neu', email: 'neu@example.de' });

    await t.stripe.customers.del(buyer.stripeCustomerId);
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    const deleted = await t.app.inject({ url: `/api/payments/customers/${buyer.id}`, headers: dealer.auth });
    expect(deleted.json().deleted).toBe(true);
  });

  it('POST /api/dev/advance-time moves the offline clock and returns the new time', async () => {
    const before = t.clock.now();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 30 },
    });
    expect(res.statusCode).toBe(200);
    const now = Date.parse(res.json().now);
    expect(now - before).toBeGreaterThanOrEqual(30 * 86_400_000);
    expect(Math.abs(t.emulator.now() * 1000 - now)).toBeLessThan(5000);
  });
});
