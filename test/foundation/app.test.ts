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

  it('answers 409 while the first request with a key is still running', async () => {
    const { idempotencyKeys, requestHash } = await import('../../src/platform/idempotency.ts');
    // A first request in flight: the key claimed the way the hook claims it, with the same body.
    await t.database.db.insert(idempotencyKeys).values({
      scope: 'admin',
      key: 'in-flight',
      requestHash: requestHash('POST', '/api/admin/dealers', { name: 'Later' }),
      state: 'running',
      createdAt: new Date(t.clock.now()),
    });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/dealers',
      headers: { ...t.admin, 'idempotency-key': 'in-flight' },
      payload: { name: 'Later' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('idempotency_conflict');
  });
});
