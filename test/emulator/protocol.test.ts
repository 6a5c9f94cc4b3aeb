/** The wire protocol, driven through the official SDK: auth, params, errors, idempotency, lists, expand. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { p } from '../../src/emulator/params.ts';
import { type ResourceModule, route } from '../../src/emulator/resource.ts';
import { type Harness, sdkFor, startHarness } from './helpers.ts';

/** A test-only resource whose handler waits until released, to hold an idempotency key "in flight". */
let release: () => void = () => {};
const gate: ResourceModule = {
  name: 'test_gate',
  routes: [
    route({
      method: 'POST',
      path: '/v1/test_gates',
      params: { label: p.string() },
      async handler(ctx) {
        await new Promise<void>((r) => {
          release = r;
        });
        return { id: ctx.newId('gate'), object: 'test_gate', label: ctx.params.label ?? null };
      },
    }),
  ],
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extraResources: [gate] });
});
afterAll(() => h.emu.close());

async function caught(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

describe('auth', () => {
  it('accepts any sk_test_ key and they all see the same account', async () => {
    const c = await sdkFor(h.emu, 'sk_test_one').customers.create({ name: 'Shared' });
    const again = await sdkFor(h.emu, 'sk_test_two').customers.retrieve(c.id);
    expect(again.id).toBe(c.id);
  });

  it.each([
    ['a live key', `sk_${'live'}_abcdefghijkl`],
    ['a publishable key', 'pk_test_abcdefghijkl'],
    ['garbage', 'nope'],
  ])('answers %s with 401 → StripeAuthenticationError', async (_what, key) => {
    const err = await caught(sdkFor(h.emu, key).customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
    expect(err.requestId).toMatch(/^req_/);
    expect(err.message).not.toContain('abcdefghijkl'); // keys are redacted in messages
  });

  it('answers a missing Authorization header with 401 in Stripe shape', async () => {
    const res = await fetch(`${h.emu.url}/v1/customers`);
    expect(res.status).toBe(401);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/did not provide an API key/);
  });
});

describe('params', () => {
  it('round-trips nested params, arrays and metadata; empty strings unset', async () => {
    const c = await h.stripe.customers.create({
      email: 'kunde@example.de',
      metadata: { dealerId: 'd_1', 'odd key': 'ä ö & = ?' },
      address: { line1: 'Hauptstr. 1', city: 'Bad Waldsee', country: 'DE', postal_code: '88339' },
      preferred_locales: ['de', 'en'],
      invoice_settings: { custom_fields: [{ name: 'Fahrzeug', value: 'Palace 90G' }] },
    });
    expect(c.metadata).toEqual({ dealerId: 'd_1', 'odd key': 'ä ö & = ?' });
    expect(c.address).toMatchObject({ line1: 'Hauptstr. 1', city: 'Bad Waldsee', line2: null });
    expect(c.preferred_locales).toEqual(['de', 'en']);
    expect(c.invoice_settings.custom_fields).toEqual([{ name: 'Fahrzeug', value: 'Palace 90G' }]);

    const u = await h.stripe.customers.update(c.id, {
      metadata: { dealerId: '', vin: 'W1V' },
      address: '',
      description: 'VIP',
      invoice_settings: { custom_fields: '' },
    });
    expect(u.metadata).toEqual({ 'odd key': 'ä ö & = ?', vin: 'W1V' });
    expect(u.address).toBeNull();
    expect(u.description).toBe('VIP');
    expect(u.invoice_settings.custom_fields).toBeNull();

    const cleared = await h.stripe.customers.update(c.id, { metadata: '' });
    expect(cleared.metadata).toEqual({});
  });

  it('reads GET params from the query string with the same encoding', async () => {
    const email = `q-${Date.now()}@example.de`;
    await h.stripe.customers.create({ email });
    const list = await h.stripe.customers.list({ email, limit: 5, expand: ['data.test_clock'] });
    expect(list.data.map((c) => c.email)).toEqual([email]);
  });

  it('rejects an unknown param with parameter_unknown and its name, nested too', async () => {
    const err = await caught(h.stripe.customers.create({ nickname: 'x' } as Stripe.CustomerCreateParams));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('parameter_unknown');
    expect(err.param).toBe('nickname');
    expect(err.requestId).toMatch(/^req_/);

    const nested = await caught(
      h.stripe.prices.create({
        currency: 'eur',
        unit_amount: 100,
        product_data: { name: 'x' },
        recurring: { interval: 'month', every: 2 } as Stripe.PriceCreateParams.Recurring,
      }),
    );
    expect(nested.code).toBe('parameter_unknown');
    expect(nested.param).toBe('recurring[every]');
  });

  it('rejects a missing required param with parameter_missing and its name', async () => {
    const err = await caught(h.stripe.products.create({} as Stripe.ProductCreateParams));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe('parameter_missing');
    expect(err.param).toBe('name');

    const nested = await caught(
      h.stripe.prices.create({
        currency: 'eur',
        unit_amount: 5,
        product_data: { active: true } as Stripe.PriceCreateParams.ProductData,
      }),
    );
    expect(nested.code).toBe('parameter_missing');
    expect(nested.param).toBe('product_data[name]');
  });

  it('rejects bad values: integers, empty strings, enums', async () => {
    const notInt = await caught(
      h.stripe.prices.create({
        currency: 'eur',
        unit_amount: 'ten' as unknown as number,
        product_data: { name: 'x' },
      }),
    );
    expect(notInt.code).toBe('parameter_invalid_integer');
    expect(notInt.param).toBe('unit_amount');

    const empty = await caught(h.stripe.products.create({ name: '' }));
    expect(empty.code).toBe('parameter_invalid_empty');
    expect(empty.param).toBe('name');

    const badEnum = await caught(
      h.stripe.prices.create({
        currency: 'eur',
        unit_amount: 5,
        product_data: { name: 'x' },
        recurring: { interval: 'fortnight' },
      }),
    );
    expect(badEnum).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(badEnum.param).toBe('recurring[interval]');
  });

  it('answers an unknown object with 404 resource_missing on param id', async () => {
    const err = await caught(h.stripe.products.retrieve('prod_missing'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('resource_missing');
    expect(err.param).toBe('id');
    expect(err.message).toBe("No such product: 'prod_missing'");
    expect(err.doc_url).toMatch(/^https:\/\//);
  });

  it('answers an unknown URL with 404 in Stripe shape', async () => {
    const res = await fetch(`${h.emu.url}/v1/nothing_here`, {
      headers: { Authorization: 'Bearer sk_test_x' },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /Unrecognized request URL/,
    );
  });

  it('puts Request-Id and Stripe-Version on every response', async () => {
    const c = await h.stripe.customers.create({});
    expect(c.lastResponse.requestId).toMatch(/^req_[A-Za-z0-9]+$/);
    expect(c.lastResponse.headers['stripe-version']).toBe('2026-10-28.endive');
  });
});

describe('idempotency', () => {
  it('replays the first status and body with Idempotent-Replayed', async () => {
    const key = `create-${Date.now()}`;
    const first = await h.stripe.customers.create({ email: 'idem@example.de' }, { idempotencyKey: key });
    const second = await h.stripe.customers.create({ email: 'idem@example.de' }, { idempotencyKey: key });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(second.lastResponse.headers['original-request']).toBe(first.lastResponse.requestId);
    const all = await h.stripe.customers.list({ email: 'idem@example.de' });
    expect(all.data).toHaveLength(1);
  });

  it('replays errors the endpoint produced, too', async () => {
    const key = `err-${Date.now()}`;
    const a = await caught(h.stripe.customers.update('cus_missing', { name: 'x' }, { idempotencyKey: key }));
    const b = await caught(h.stripe.customers.update('cus_missing', { name: 'x' }, { idempotencyKey: key }));
    expect(a.statusCode).toBe(404);
    expect(b.statusCode).toBe(404);
    expect(b.headers?.['idempotent-replayed']).toBe('true');
  });

  it('answers the same key with other params with idempotency_error → StripeIdempotencyError', async () => {
    const key = `mismatch-${Date.now()}`;
    await h.stripe.customers.create({ email: 'one@example.de' }, { idempotencyKey: key });
    const err = await caught(h.stripe.customers.create({ email: 'two@example.de' }, { idempotencyKey: key }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.statusCode).toBe(400);
    expect(err.type).toBe('StripeIdempotencyError');
    expect(err.message).toContain(key);
  });

  it('stores nothing for a request that failed validation', async () => {
    const key = `invalid-${Date.now()}`;
    await caught(
      h.stripe.customers.create({ bogus: 1 } as Stripe.CustomerCreateParams, { idempotencyKey: key }),
    );
    const ok = await h.stripe.customers.create({ name: 'valid' }, { idempotencyKey: key });
    expect(ok.name).toBe('valid');
  });

  it('answers 409 while the first request with the key is still running; an SDK retry then gets the replay', async () => {
    const key = `concurrent-${Date.now()}`;
    const first = h.stripe.rawRequest('POST', '/v1/test_gates', { label: 'a' }, { idempotencyKey: key });
    await new Promise((r) => setTimeout(r, 50));

    const conflict = await caught(
      h.stripe.rawRequest('POST', '/v1/test_gates', { label: 'a' }, { idempotencyKey: key }),
    );
    expect(conflict.statusCode).toBe(409);
    expect(conflict.code).toBe('idempotency_key_in_use');
    expect(conflict.rawType).toBe('idempotency_error');
    expect(conflict.headers?.['stripe-should-retry']).toBe('true');

    // A client with retries sees the 409, backs off, retries with the same key and gets the replay.
    const retrying = sdkFor(h.emu, 'sk_test_retry', 3);
    const second = retrying.rawRequest('POST', '/v1/test_gates', { label: 'a' }, { idempotencyKey: key });
    await new Promise((r) => setTimeout(r, 100));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(b.id).toBe(a.id);
  });

  it('ignores Idempotency-Key on GET', async () => {
    const list = await h.stripe.customers.list({ limit: 1 }, { idempotencyKey: 'get-key' });
    expect(list.object).toBe('list');
  });
});

describe('lists', () => {
  let ids: string[] = [];
  const tag = `page-${Date.now()}`;
  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 7; i++)
      ids.push((await h.stripe.products.create({ name: `${tag}-${i}`, url: `https://x/${tag}` })).id);
    ids.reverse(); // newest first
  });

  it('pages forward with starting_after, newest first', async () => {
    const first = await h.stripe.products.list({ url: `https://x/${tag}`, limit: 3 });
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/products');
    expect(first.data.map((p) => p.id)).toEqual(ids.slice(0, 3));
    expect(first.has_more).toBe(true);
    const second = await h.stripe.products.list({
      url: `https://x/${tag}`,
      limit: 3,
      starting_after: ids[2],
    });
    expect(second.data.map((p) => p.id)).toEqual(ids.slice(3, 6));
    const last = await h.stripe.products.list({ url: `https://x/${tag}`, limit: 3, starting_after: ids[5] });
    expect(last.data.map((p) => p.id)).toEqual(ids.slice(6));
    expect(last.has_more).toBe(false);
  });

  it('pages backward with ending_before', async () => {
    const page = await h.stripe.products.list({ url: `https://x/${tag}`, limit: 2, ending_before: ids[4] });
    expect(page.data.map((p) => p.id)).toEqual(ids.slice(2, 4));
    expect(page.has_more).toBe(true);
    const top = await h.stripe.products.list({ url: `https://x/${tag}`, limit: 5, ending_before: ids[2] });
    expect(top.data.map((p) => p.id)).toEqual(ids.slice(0, 2));
    expect(top.has_more).toBe(false);
  });

  it('auto-paginates with for await, both directions', async () => {
    const seen: string[] = [];
    for await (const product of h.stripe.products.list({ url: `https://x/${tag}`, limit: 2 }))
      seen.push(product.id);
    expect(seen).toEqual(ids);

    const backwards = await h.stripe.products
      .list({ url: `https://x/${tag}`, limit: 2, ending_before: ids[6] })
      .autoPagingToArray({ limit: 100 });
    expect(backwards.map((p) => p.id)).toEqual([...ids.slice(0, 6)].reverse());
  });

  it.each([0, 101])('rejects limit=%i', async (limit) => {
    const err = await caught(h.stripe.products.list({ limit }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.param).toBe('limit');
  });

  it('defaults to 10', async () => {
    for (let i = 0; i < 4; i++) await h.stripe.products.create({ name: `filler-${i}` });
    const page = await h.stripe.products.list();
    expect(page.data).toHaveLength(10);
    expect(page.has_more).toBe(true);
  });

  it('rejects a cursor that does not exist', async () => {
    const err = await caught(h.stripe.products.list({ starting_after: 'prod_nope' }));
    expect(err.code).toBe('resource_missing');
    expect(err.param).toBe('starting_after');
  });
});

describe('expand', () => {
  it('expands id fields on objects and on list items', async () => {
    const product = await h.stripe.products.create({
      name: 'Empire Liner',
      default_price_data: { currency: 'eur', unit_amount: 1000 },
    });
    const withPrice = await h.stripe.products.retrieve(product.id, { expand: ['default_price'] });
    expect((withPrice.default_price as Stripe.Price).object).toBe('price');
    expect((withPrice.default_price as Stripe.Price).product).toBe(product.id);

    const deep = await h.stripe.products.retrieve(product.id, { expand: ['default_price.product'] });
    expect(((deep.default_price as Stripe.Price).product as Stripe.Product).name).toBe('Empire Liner');

    const prices = await h.stripe.prices.list({ product: product.id, expand: ['data.product'] });
    expect((prices.data[0]!.product as Stripe.Product).id).toBe(product.id);

    const price = await h.stripe.prices.retrieve(prices.data[0]!.id, { expand: ['product'] });
    expect((price.product as Stripe.Product).object).toBe('product');
  });

  it('refuses fields that cannot be expanded', async () => {
    const err = await caught(h.stripe.customers.create({ email: 'e@x.de', expand: ['email'] }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.message).toMatch(/cannot be expanded \(email\)/);
  });
});
