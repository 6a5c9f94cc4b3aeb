import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('the app skeleton', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers /health and /ready with database and Stripe checks', async () => {
    expect((await t.app.inject('/health')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: true, stripe: true } });
  });

  it('serves the OpenAPI document and the docs UI', async () => {
    const spec = (await t.app.inject('/openapi.json')).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toContain('/api/admin/dealers');
    const ui = await t.app.inject('/docs/');
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('<html');
  });

  it('refuses a missing or unknown key with 401 and the contract error body', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/api/admin/dealers', payload: { name: 'x' } });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: { authorization: 'Bearer mp_admin_not_a_real_key_at_all' },
      payload: { name: 'x' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('creates a dealer with a key that works, stored only as a hash', async () => {
    const dealer = await t.createDealer('Reisemobile Süd GmbH');
    expect(dealer.id).toMatch(/^dlr_/);
    expect(dealer.apiKey).toMatch(/^mp_dealer_/);
    const { apiKeys } = await import('../../src/auth/schema.ts');
    const rows = await t.database.db.select().from(apiKeys);
    expect(rows.some((r) => r.keyHash === dealer.apiKey)).toBe(false);
    expect(JSON.stringify(rows)).not.toContain(dealer.apiKey);
    // A dealer key is not an admin key.
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: dealer.auth,
      payload: { name: 'Sneaky' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden');
  });

  it('answers bad input with 400 naming the field', async () => {
    const unknownField = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: t.admin,
      payload: { name: 'A', colour: 'red' },
    });
    expect(unknownField.statusCode).toBe(400);
    expect(JSON.stringify(unknownField.json().error)).toContain('colour');

    const wrongType = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: t.admin,
      payload: { name: 42 },
    });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.details[0].field).toBe('body.name');

    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: { ...t.admin, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('invalid_request');

    const huge = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: { ...t.admin, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('payload_too_large');

    const noRoute = await t.app.inject({
      method: 'GET',
      url: '/api/payments/nothing-here',
      headers: t.admin,
    });
    expect(noRoute.statusCode).toBe(404);
    expect(noRoute.json().error.code).toBe('route_not_found');
  });

  it('replays a POST with the same Idempotency-Key, refuses another body with 422', async () => {
    const headers = { ...t.admin, 'idempotency-key': 'dealer-create-1' };
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers,
      payload: { name: 'Once' },
    });
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers,
      payload: { name: 'Once' },
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers,
      payload: { name: 'Twice' },
    });
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('idempotency_key_reused');
  });

  it('answers 409 while the first request with a key is still running, and takes over a key whose request died', async () => {
    const { idempotencyKeys, requestHash } = await import('../../src/platform/idempotency.ts');
    const { apiKeys } = await import('../../src/auth/schema.ts');
    const [adminKey] = await t.database.db.select().from(apiKeys).where(eq(apiKeys.role, 'admin'));
    const claim = async (key: string, lockedUntil: Date) =>
      t.database.db.insert(idempotencyKeys).values({
        scope: `key:${adminKey?.id}`,
        key,
        requestHash: requestHash('POST', '/api/admin/dealers', { name: 'Later' }),
        state: 'running',
        createdAt: new Date(t.clock.now()),
        lockedUntil,
      });
    const send = (key: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/admin/dealers',
        headers: { ...t.admin, 'idempotency-key': key },
        payload: { name: 'Later' },
      });
    // A first request in flight: the key claimed the way the hook claims it, with the same body.
    await claim('in-flight', new Date(t.clock.now() + 60_000));
    const busy = await send('in-flight');
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error.code).toBe('idempotency_conflict');
    // A request that died holding its key: after the lease a retry runs instead of waiting a day.
    await claim('crashed', new Date(t.clock.now() - 1000));
    const retried = await send('crashed');
    expect(retried.statusCode).toBe(201);
    expect((await send('crashed')).headers['idempotent-replayed']).toBe('true');
  });

  it('treats the same fields in another order as the same request, and scopes keys per API key', async () => {
    const headers = { ...t.admin, 'idempotency-key': 'order', 'content-type': 'application/json' };
    const a = await t.app.inject({
      method: 'POST',
      url: '/api/payments/financing/quote',
      headers,
      payload:
        '{"termMonths":12,"vehiclePrice":5000000,"downPayment":1000000,"nominalRatePercent":4,"balloonMode":"separate","paymentTiming":"end"}',
    });
    const b = await t.app.inject({
      method: 'POST',
      url: '/api/payments/financing/quote',
      headers,
      payload:
        '{"vehiclePrice":5000000,"downPayment":1000000,"termMonths":12,"nominalRatePercent":4,"paymentTiming":"end","balloonMode":"separate"}',
    });
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(b.headers['idempotent-replayed']).toBe('true');
    // Another key with the same Idempotency-Key is another request.
    const dealer = await t.createDealer('Eigener Schlüssel');
    const c = await t.app.inject({
      method: 'POST',
      url: '/api/payments/financing/quote',
      headers: { ...dealer.auth, 'idempotency-key': 'order', 'content-type': 'application/json' },
      payload:
        '{"vehiclePrice":6000000,"downPayment":1000000,"termMonths":12,"nominalRatePercent":4,"paymentTiming":"end","balloonMode":"separate"}',
    });
    expect(c.statusCode).toBe(200);
    expect(c.headers['idempotent-replayed']).toBeUndefined();
  });
});
