import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('balance and transactions, and how their cache behaves', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile West');
    // Money in the account: a card down payment through a link.
    const link = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/payment-links',
        headers: dealer.auth,
        payload: { amount: 2_000_000, vehicleModel: 'Loft', vehicleId: 'L-1', buyerEmail: 'k@example.de' },
      })
    ).json();
    await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
      body: JSON.stringify({ link: link.stripePaymentLinkId, outcome: 'card' }),
    });
    // Stripe books a card payment's balance transaction a moment after the payment (asynchronous capture).
    await t.emulator.advance(5);
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
  });
  afterAll(() => t.close());

  it('the admin sees Stripe’s balance; a dealer sees its own totals from the ledger', async () => {
    const admin = await t.app.inject({ url: '/api/payments/balance', headers: t.admin });
    expect(admin.statusCode).toBe(200);
    const body = admin.json();
    expect(body.scope).toBe('account');
    const stripeBalance = await t.stripe.balance.retrieve();
    expect(body.pending).toEqual(
      stripeBalance.pending.map((b) => ({ amount: b.amount, currency: b.currency })),
    );

    const own = (await t.app.inject({ url: '/api/payments/balance', headers: dealer.auth })).json();
    expect(own).toEqual({
      scope: 'dealer',
      dealerId: dealer.id,
      settled: 2_000_000,
      processing: 0,
      reversed: 0,
      net: 2_000_000,
    });
    const other = await t.createDealer('Leer GmbH');
    expect((await t.app.inject({ url: '/api/payments/balance', headers: other.auth })).json().net).toBe(0);
  });

  it('lists balance transactions for the admin and the dealer’s own payments for a dealer', async () => {
    const admin = (
      await t.app.inject({ url: '/api/payments/transactions?limit=1', headers: t.admin })
    ).json();
    expect(admin.data).toHaveLength(1);
    expect(admin.data[0].id).toMatch(/^txn_/);
    const own = (await t.app.inject({ url: '/api/payments/transactions', headers: dealer.auth })).json();
    expect(own.data).toEqual([
      expect.objectContaining({ amount: 2_000_000, vehicleId: 'L-1', status: 'settled' }),
    ]);
  });

  it('N concurrent cold reads make one Stripe call; after the TTL a Stripe outage is served stale', async () => {
    const original = t.stripe.balance.retrieve.bind(t.stripe.balance);
    let calls = 0;
    let failing = false;
    t.stripe.balance.retrieve = (async (...args: Parameters<typeof original>) => {
      calls++;
      if (failing) throw new Stripe.errors.StripeConnectionError({ message: 'Stripe is down' });
      await new Promise((r) => setTimeout(r, 50));
      return original(...args);
    }) as typeof original;
    try {
      t.clock.advance(6 * 60_000); // past the 5-minute TTL of the first test's read
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => t.app.inject({ url: '/api/payments/balance', headers: t.admin })),
      );
      expect(calls).toBe(1);
      expect(new Set(replies.map((r) => r.body)).size).toBe(1);
      expect(
        (await t.app.inject({ url: '/api/payments/balance', headers: t.admin })).headers['x-cache'],
      ).toBe('hit');

      failing = true;
      t.clock.advance(6 * 60_000);
      const stale = await t.app.inject({ url: '/api/payments/balance', headers: t.admin });
      expect(stale.statusCode).toBe(200);
      expect(stale.headers['x-cache']).toBe('stale');
      expect(stale.json()).toEqual(replies[0]?.json());
    } finally {
      t.stripe.balance.retrieve = original;
    }
  });

  it('a Stripe outage with nothing cached is a clear 503, not a stack trace', async () => {
    const original = t.stripe.balanceTransactions.list.bind(t.stripe.balanceTransactions);
    t.stripe.balanceTransactions.list = (async () => {
      throw new Stripe.errors.StripeConnectionError({
        message: 'connect ECONNREFUSED 10.0.0.1:443 sk_test_leak',
      });
    }) as unknown as typeof original;
    try {
      const res = await t.app.inject({ url: '/api/payments/transactions?limit=7', headers: t.admin });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('unavailable');
      expect(res.body).not.toContain('ECONNREFUSED');
      // Support finds what Stripe said in the log, tied to the request; the key in Stripe's message is scrubbed.
      const ours = t.logLines.filter((l) => l.includes(`"reqId":"${res.headers['x-request-id']}"`));
      expect(ours.some((l) => l.includes('"StripeConnectionError"'))).toBe(true);
      expect(t.logLines.join('\n')).not.toContain('sk_test_leak');
    } finally {
      t.stripe.balanceTransactions.list = original;
    }
  });
});
