import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('buyers: POST/GET /api/payments/customers', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createDealer']>>;
  let b: Awaited<ReturnType<TestApp['createDealer']>>;

  beforeAll(async () => {
    t = await createTestApp();
    a = await t.createDealer('Reisemobile Nord');
    b = await t.createDealer('Caravan Süd');
  });
  afterAll(() => t.close());

  // Each buyer is created a second after the previous one, as in real life (the list is newest first).
  beforeEach(() => t.clock.advance(1000));

  const buyer = (overrides: Record<string, unknown> = {}) => ({
    name: 'Erika Mustermann',
    email: 'erika@example.de',
    address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
    buyerId: 'B-1001',
    vehicleId: 'VIN-WMO90G000001',
    ...overrides,
  });

  it('creates the Stripe customer with buyerId, vehicleId and dealerId metadata', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: a.auth,
      payload: buyer(),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      dealerId: a.id,
      buyerId: 'B-1001',
      vehicleId: 'VIN-WMO90G000001',
      type: 'consumer',
      address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln', country: 'DE' },
    });
    const customer = await t.stripe.customers.retrieve(body.stripeCustomerId);
    if (customer.deleted) throw new Error('deleted');
    expect(customer.email).toBe('erika@example.de');
    expect(customer.metadata).toMatchObject({
      buyerId: 'B-1001',
      vehicleId: 'VIN-WMO90G000001',
      dealerId: a.id,
    });
    expect(customer.address?.city).toBe('Köln');
  });

  it('returns the existing buyer for the same dealer + buyerId instead of a second Stripe customer', async () => {
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: a.auth,
      payload: buyer(),
    });
    expect(again.statusCode).toBe(200);
    const all = await t.stripe.customers.list({ email: 'erika@example.de', limit: 100 });
    expect(all.data).toHaveLength(1);
    expect(again.json().stripeCustomerId).toBe(all.data[0]?.id);
  });

  it('accepts the address as one line', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: a.auth,
      payload: buyer({ buyerId: 'B-1002', email: 'max@example.de', address: 'Musterweg 1, 10115 Berlin' }),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().address).toEqual({ line1: 'Musterweg 1, 10115 Berlin', country: 'DE' });
  });

  it('keeps dealers apart: a dealer cannot act for another, the admin must name one', async () => {
    const forOther = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: a.auth,
      payload: buyer({ buyerId: 'B-9', dealerId: b.id }),
    });
    expect(forOther.statusCode).toBe(403);
    expect(forOther.json().error.details[0].field).toBe('body.dealerId');

    const adminWithout = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: t.admin,
      payload: buyer({ buyerId: 'B-10' }),
    });
    expect(adminWithout.statusCode).toBe(400);
    expect(adminWithout.json().error.details[0].field).toBe('body.dealerId');

    const adminFor = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: t.admin,
      payload: buyer({
        buyerId: 'B-2001',
        email: 'hans@example.de',
        dealerId: b.id,
        type: 'business',
        vatId: 'DE123456789',
      }),
    });
    expect(adminFor.statusCode).toBe(201);
    const otherId = adminFor.json().id;

    const peek = await t.app.inject({ url: `/api/payments/customers/${otherId}`, headers: a.auth });
    expect(peek.statusCode).toBe(404);
    expect(peek.body).not.toContain('hans@example.de');

    const own = await t.app.inject({ url: `/api/payments/customers/${otherId}`, headers: b.auth });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ id: otherId, type: 'business', vatId: 'DE123456789' });
  });

  it('lists only the caller’s buyers, paginated, cached, and shows a new buyer at once', async () => {
    const first = await t.app.inject({ url: '/api/payments/customers?limit=1', headers: a.auth });
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-cache']).toBe('miss');
    const page1 = first.json();
    expect(page1.data).toHaveLength(1);
    expect(page1.hasMore).toBe(true);
    const page2 = (
      await t.app.inject({
        url: `/api/payments/customers?limit=1&cursor=${page1.nextCursor}`,
        headers: a.auth,
      })
    ).json();
    expect(page2.data).toHaveLength(1);
    expect(page2.data[0].id).not.toBe(page1.data[0].id);
    expect(page2.hasMore).toBe(false);
    expect(page2.nextCursor).toBeNull();

    const cached = await t.app.inject({ url: '/api/payments/customers?limit=1', headers: a.auth });
    expect(cached.headers['x-cache']).toBe('hit');

    await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: a.auth,
      payload: buyer({ buyerId: 'B-1003', email: 'neu@example.de' }),
    });
    const after = await t.app.inject({ url: '/api/payments/customers?limit=100', headers: a.auth });
    expect(after.headers['x-cache']).toBe('miss');
    const ids = after.json().data.map((d: { buyerId: string }) => d.buyerId);
    expect(ids).toEqual(['B-1003', 'B-1002', 'B-1001']);

    const adminList = await t.app.inject({ url: '/api/payments/customers?limit=100', headers: t.admin });
    expect(adminList.json().data).toHaveLength(4);
  });

  it('rejects bad input with 400 naming the field', async () => {
    for (const [payload, field] of [
      [buyer({ email: 'not-an-email' }), 'body.email'],
      [buyer({ buyerId: '' }), 'body.buyerId'],
      [buyer({ type: 'alien' }), 'body.type'],
      [buyer({ address: { line1: 'x', country: 'Germany' } }), 'body.address'],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/payments/customers',
        headers: a.auth,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(
        res
          .json()
          .error.details.map((d: { field: string }) => d.field)
          .join(' '),
      ).toContain(field);
    }
    const badCursor = await t.app.inject({ url: '/api/payments/customers?cursor=zzz', headers: a.auth });
    expect(badCursor.statusCode).toBe(400);
    const badLimit = await t.app.inject({ url: '/api/payments/customers?limit=500', headers: a.auth });
    expect(badLimit.statusCode).toBe(400);
  });
});
