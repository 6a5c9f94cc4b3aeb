import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, type BusinessDate, berlinDate } from '../../src/platform/dates.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('GET /api/payments/vehicles/:vehicleId', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;
  let buyer: { id: string; stripeCustomerId: string };

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Mitte');
    buyer = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/customers',
        headers: dealer.auth,
        payload: {
          name: 'Paul Plan',
          email: 'paul@example.de',
          address: 'Allee 2, 34117 Kassel',
          buyerId: 'P-1',
          vehicleId: 'VIN-PLAN',
        },
      })
    ).json();
  });
  afterAll(() => t.close());

  it('adds a running plan’s contract to what is agreed and shows its first instalment as next due', async () => {
    const today = berlinDate(t.clock.now());
    const start = addDays(today, 10) as BusinessDate;
    const invoice = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/invoices',
        headers: dealer.auth,
        payload: {
          customerId: buyer.id,
          vehicleId: 'VIN-PLAN',
          kind: 'down_payment',
          amount: 3_000_000,
          description: 'Anzahlung',
        },
      })
    ).json();
    const plan = await t.app.inject({
      method: 'POST',
      url: '/api/payments/subscriptions',
      headers: dealer.auth,
      payload: {
        customerId: buyer.id,
        vehicleId: 'VIN-PLAN',
        vehicleModel: 'Home',
        monthlyRate: 150_000,
        startDate: start,
        durationMonths: 24,
      },
    });
    expect(plan.statusCode).toBe(201);

    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-PLAN', headers: dealer.auth })
    ).json();
    expect(vehicle.totalAgreed).toBe(3_000_000 + 24 * 150_000);
    expect(vehicle.open).toBe(3_000_000);
    expect(vehicle.plans).toEqual([
      expect.objectContaining({
        id: plan.json().id,
        monthlyRate: 150_000,
        durationMonths: 24,
        contractTotal: 3_600_000,
      }),
    ]);
    // The invoice is due in 14 days, the first instalment in 10: the instalment comes first.
    expect(vehicle.nextDue).toEqual({
      date: start,
      amount: 150_000,
      invoiceId: null,
      planId: plan.json().id,
    });
    expect(invoice.dueDate > start).toBe(true);
  });

  it('the admin must say which dealer; an unknown vehicle is 404', async () => {
    const noDealer = await t.app.inject({ url: '/api/payments/vehicles/VIN-PLAN', headers: t.admin });
    expect(noDealer.statusCode).toBe(400);
    expect(noDealer.json().error.details[0].field).toBe('query.dealerId');
    const withDealer = await t.app.inject({
      url: `/api/payments/vehicles/VIN-PLAN?dealerId=${dealer.id}`,
      headers: t.admin,
    });
    expect(withDealer.statusCode).toBe(200);
    expect(
      (await t.app.inject({ url: '/api/payments/vehicles/NOPE', headers: dealer.auth })).statusCode,
    ).toBe(404);
  });
});
