/** Guards against charging twice: one running plan per vehicle; a payoff deletes a renewal Stripe has drafted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { advanceDays, createBuyer, type Dealer, nextMonthStart, postPlan, settle } from './plan-helpers.ts';

describe('financing plans: never charged twice', () => {
  let t: TestApp;
  let dealer: Dealer;
  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Doppelt GmbH');
  });
  afterAll(() => t.close());

  it('a second plan for a vehicle with a running one is 409, and nothing is created at Stripe', async () => {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const payload = {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Loft',
      monthlyRate: 99_000,
      startDate: nextMonthStart(t),
      durationMonths: 12,
    };
    const first = await postPlan(t, dealer, payload);
    expect(first.statusCode).toBe(201);
    const schedulesBefore = (await t.stripe.subscriptionSchedules.list({ customer: buyer.stripeCustomerId }))
      .data.length;
    const again = await postPlan(t, dealer, payload);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('plan_exists');
    expect(again.json().error.message).toContain(first.json().id);
    expect(
      (await t.stripe.subscriptionSchedules.list({ customer: buyer.stripeCustomerId })).data,
    ).toHaveLength(schedulesBefore);
    // Once the first is canceled the vehicle may be financed again.
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${first.json().id}/cancel`,
      headers: dealer.auth,
      payload: { reason: 'Neuer Vertrag' },
    });
    expect(cancel.statusCode).toBe(200);
    expect((await postPlan(t, dealer, payload)).statusCode).toBe(201);
  });

  it('a payoff while Stripe has a renewal drafted charges only the payoff', async () => {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const plan = (
      await postPlan(t, dealer, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Loft',
        monthlyRate: 120_000,
        startDate: start,
        durationMonths: 24,
      })
    ).json();
    await settle(t);
    // Some instalments paid; then to just after a renewal is drafted, before it is charged.
    await advanceDays(t, 40);
    const sub = (await t.stripe.subscriptionSchedules.retrieve(plan.stripeScheduleId)).subscription as string;
    const periodEnd = (await t.stripe.subscriptions.retrieve(sub)).items.data[0]
      ?.current_period_end as number;
    await t.emulator.advance(periodEnd - t.emulator.now() + 60); // renewal drafted, not yet finalized
    await settle(t);
    const drafts = await t.stripe.invoices.list({ subscription: sub, status: 'draft' });
    expect(drafts.data.length).toBe(1);
    const paidBefore = (await t.stripe.invoices.list({ subscription: sub, status: 'paid', limit: 100 })).data
      .length;

    const payoff = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${plan.id}/payoff`,
      headers: dealer.auth,
    });
    expect(payoff.statusCode).toBe(200);
    await advanceDays(t, 3);
    const paidAfter = (await t.stripe.invoices.list({ subscription: sub, status: 'paid', limit: 100 })).data
      .length;
    expect(paidAfter).toBe(paidBefore);
    expect((await t.stripe.invoices.list({ subscription: sub, status: 'draft' })).data).toHaveLength(0);
  });
});
