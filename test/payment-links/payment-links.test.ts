import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/** Pays a link the way the checkout page's buttons do. */
async function completeCheckout(t: TestApp, body: Record<string, string>) {
  const res = await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function settle(t: TestApp) {
  await t.emulator.drainWebhooks();
  await t.app.inbox.drain();
}

describe('payment links: POST /api/payments/payment-links', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Süd');
  });
  afterAll(() => t.close());

  const create = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/payments/payment-links',
      headers: { ...dealer.auth, ...headers },
      payload,
    });

  it('a down payment paid by card: one payment, metadata on it, link deactivated, ledger and vehicle updated', async () => {
    const res = await create({
      amount: 1_500_000,
      vehicleModel: 'Palace 90G',
      vehicleId: 'VIN-P90G-1',
      buyerEmail: 'erika@example.de',
    });
    expect(res.statusCode).toBe(201);
    const link = res.json();
    expect(link).toMatchObject({ status: 'active', amount: 1_500_000, kind: 'down_payment' });
    expect(link.url).toContain('/pay/');

    const stripeLink = await t.stripe.paymentLinks.retrieve(link.stripePaymentLinkId);
    expect(stripeLink.restrictions?.completed_sessions.limit).toBe(1);
    expect(stripeLink.payment_intent_data?.metadata).toMatchObject({
      vehicleId: 'VIN-P90G-1',
      moreloLinkId: link.id,
    });
    if (stripeLink.after_completion.type !== 'redirect') throw new Error('expected a redirect');
    expect(stripeLink.after_completion.redirect?.url).toContain(`${t.config.publicBaseUrl}/payments/success`);

    const paid = await completeCheckout(t, { link: link.stripePaymentLinkId, outcome: 'card' });
    expect(paid.status).toBe(200);
    expect(String(paid.body.redirect_url)).toContain('/payments/success?link=');
    const pi = paid.body.payment_intent as { id: string; metadata: Record<string, string> };
    expect(await t.stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ status: 'succeeded' });
    expect(pi.metadata).toMatchObject({ vehicleId: 'VIN-P90G-1', kind: 'down_payment', dealerId: dealer.id });

    await settle(t);
    const after = await t.app.inject({ url: `/api/payments/payment-links/${link.id}`, headers: dealer.auth });
    expect(after.json().status).toBe('paid');
    expect((await t.stripe.paymentLinks.retrieve(link.stripePaymentLinkId)).active).toBe(false);

    // Both checkout.session.completed and payment_intent.succeeded announced it: one ledger entry.
    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-P90G-1', headers: dealer.auth })
    ).json();
    expect(vehicle.paid).toEqual({
      settled: 1_500_000,
      processing: 0,
      reclaimable: 0,
      reversed: 0,
      net: 1_500_000,
    });
    expect(vehicle.history).toHaveLength(1);

    // The buyer cannot pay twice.
    const second = await completeCheckout(t, { link: link.stripePaymentLinkId, outcome: 'card' });
    expect(second.status).toBe(400);

    const page = await t.app.inject({
      url: String(paid.body.redirect_url).replace(t.config.publicBaseUrl, ''),
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Vielen Dank');
  });

  it('SEPA: processing first (not settled), then settled; a failed debit is recorded with its reason', async () => {
    const ok = (
      await create({
        amount: 800_000,
        vehicleModel: 'Loft',
        vehicleId: 'VIN-LOFT-1',
        buyerEmail: 'max@example.de',
      })
    ).json();
    await completeCheckout(t, { link: ok.stripePaymentLinkId, outcome: 'sepa_success', name: 'Max Muster' });
    await settle(t);
    let vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-LOFT-1', headers: dealer.auth })
    ).json();
    expect(vehicle.paid).toMatchObject({ settled: 0, processing: 800_000 });
    expect(
      (await t.app.inject({ url: `/api/payments/payment-links/${ok.id}`, headers: dealer.auth })).json()
        .status,
    ).toBe('processing');

    await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 14 },
    });
    vehicle = (await t.app.inject({ url: '/api/payments/vehicles/VIN-LOFT-1', headers: dealer.auth })).json();
    // Settled, but the buyer may still reclaim the debit for 8 weeks.
    expect(vehicle.paid).toMatchObject({ settled: 800_000, processing: 0, reclaimable: 800_000 });
    await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 57 },
    });
    vehicle = (await t.app.inject({ url: '/api/payments/vehicles/VIN-LOFT-1', headers: dealer.auth })).json();
    expect(vehicle.paid).toMatchObject({ settled: 800_000, reclaimable: 0 });

    const bad = (
      await create({
        amount: 700_000,
        vehicleModel: 'Loft',
        vehicleId: 'VIN-LOFT-2',
        buyerEmail: 'max@example.de',
      })
    ).json();
    await completeCheckout(t, { link: bad.stripePaymentLinkId, outcome: 'sepa_failure', name: 'Max Muster' });
    await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 14 },
    });
    vehicle = (await t.app.inject({ url: '/api/payments/vehicles/VIN-LOFT-2', headers: dealer.auth })).json();
    expect(vehicle.paid).toMatchObject({ settled: 0, processing: 0 });
    expect(vehicle.history[0]).toMatchObject({ settlement: 'failed' });
    expect(vehicle.history[0].reasonCode).toBeTruthy();
    expect(
      (await t.app.inject({ url: `/api/payments/payment-links/${bad.id}`, headers: dealer.auth })).json()
        .status,
    ).toBe('failed');
  });

  it('reuses one Stripe product per vehicle model', async () => {
    const a = (
      await create({
        amount: 100_000,
        vehicleModel: 'Empire Liner',
        vehicleId: 'E-1',
        buyerEmail: 'a@example.de',
      })
    ).json();
    const b = (
      await create({
        amount: 200_000,
        vehicleModel: 'Empire Liner',
        vehicleId: 'E-2',
        buyerEmail: 'b@example.de',
      })
    ).json();
    const items = async (id: string) =>
      (await t.stripe.paymentLinks.listLineItems(id)).data[0]?.price?.product;
    expect(await items(a.stripePaymentLinkId)).toBe(await items(b.stripePaymentLinkId));
  });

  it('an Idempotency-Key retry returns the same link; bad input is 400 naming the field', async () => {
    const payload = { amount: 300_000, vehicleModel: 'Home', vehicleId: 'H-1', buyerEmail: 'c@example.de' };
    const first = await create(payload, { 'idempotency-key': 'link-H-1' });
    const again = await create(payload, { 'idempotency-key': 'link-H-1' });
    expect(again.json().id).toBe(first.json().id);
    for (const [body, field] of [
      [{ ...payload, amount: -5 }, 'body.amount'],
      [{ ...payload, amount: 12.5 }, 'body.amount'],
      [{ ...payload, buyerEmail: 'nope' }, 'body.buyerEmail'],
      [{ ...payload, customerId: 'byr_unknown' }, 'body.customerId'],
      [{ amount: 100 }, 'body.vehicleModel'],
    ] as const) {
      const res = await create(body);
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json().error.details)).toContain(field);
    }
  });

  it('keeps dealers apart', async () => {
    const mine = (
      await create({ amount: 100_000, vehicleModel: 'Home', vehicleId: 'H-2', buyerEmail: 'd@example.de' })
    ).json();
    const other = await t.createDealer('Andere GmbH');
    const peek = await t.app.inject({ url: `/api/payments/payment-links/${mine.id}`, headers: other.auth });
    expect(peek.statusCode).toBe(404);
    const vehicle = await t.app.inject({ url: '/api/payments/vehicles/VIN-P90G-1', headers: other.auth });
    expect(vehicle.statusCode).toBe(404);
  });
});
