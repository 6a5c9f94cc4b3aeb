/** Customers, products, prices and events through the official SDK. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers.ts';

let h: Harness;
const START = 1_800_000_000;
beforeAll(async () => {
  h = await startHarness({ startTime: START });
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

describe('customers', () => {
  it('creates, retrieves, updates and deletes; a deleted customer retrieves as deleted', async () => {
    const created = await h.stripe.customers.create({
      name: 'Anna Berg',
      email: 'anna@example.de',
      phone: '+49 7524 999',
    });
    expect(created).toMatchObject({
      object: 'customer',
      livemode: false,
      balance: 0,
      name: 'Anna Berg',
      tax_exempt: 'none',
    });
    expect(created.id).toMatch(/^cus_/);
    expect(created.created).toBeGreaterThanOrEqual(START);

    const fetched = await h.stripe.customers.retrieve(created.id);
    expect({ ...fetched }).toEqual({ ...created });

    const updated = await h.stripe.customers.update(created.id, { name: 'Anna Berg-Huber', email: '' });
    expect(updated.name).toBe('Anna Berg-Huber');
    expect(updated.email).toBeNull();

    const deleted = await h.stripe.customers.del(created.id);
    expect({ ...deleted }).toEqual({ id: created.id, object: 'customer', deleted: true });
    const after = await h.stripe.customers.retrieve(created.id);
    expect(after.deleted).toBe(true);

    const err = await caught(h.stripe.customers.update(created.id, { name: 'x' }));
    expect(err.code).toBe('resource_missing');
    const list = await h.stripe.customers.list({ limit: 100 });
    expect(list.data.map((c) => c.id)).not.toContain(created.id);
  });

  it('lists with email and created filters', async () => {
    const a = await h.stripe.customers.create({ email: 'filter@example.de' });
    await h.emu.advance(3600);
    const b = await h.stripe.customers.create({ email: 'filter@example.de' });
    await h.stripe.customers.create({ email: 'other@example.de' });

    const byEmail = await h.stripe.customers.list({ email: 'filter@example.de' });
    expect(byEmail.data.map((c) => c.id)).toEqual([b.id, a.id]);

    const recent = await h.stripe.customers.list({ email: 'filter@example.de', created: { gt: a.created } });
    expect(recent.data.map((c) => c.id)).toEqual([b.id]);
    const exact = await h.stripe.customers.list({ created: a.created, email: 'filter@example.de' });
    expect(exact.data.map((c) => c.id)).toEqual([a.id]);
  });

  it('searches with the query language', async () => {
    const tag = `s${Date.now()}`;
    const x = await h.stripe.customers.create({
      name: 'Xaver Moser',
      email: `xaver.${tag}@morelo.de`,
      metadata: { dealer: tag },
    });
    const y = await h.stripe.customers.create({
      name: 'Yvonne Moser',
      email: `yvonne.${tag}@gmail.com`,
      metadata: { dealer: tag, vip: 'yes' },
    });
    const ids = async (query: string) =>
      (await h.stripe.customers.search({ query })).data.map((c) => c.id).sort();

    expect(await ids(`email:'xaver.${tag}@morelo.de'`)).toEqual([x.id]);
    expect(await ids(`email:"XAVER.${tag}@MORELO.DE"`)).toEqual([x.id]);
    expect(await ids(`name:'Yvonne Moser'`)).toEqual([y.id]);
    expect(await ids(`metadata['dealer']:'${tag}'`)).toEqual([x.id, y.id].sort());
    expect(await ids(`metadata['dealer']:'${tag}' AND -metadata['vip']:'yes'`)).toEqual([x.id]);
    expect(await ids(`email~'${tag}@morelo' OR email~'${tag}@gmail'`)).toEqual([x.id, y.id].sort());
    expect(await ids(`name~'Moser' AND metadata['dealer']:'${tag}'`)).toEqual([x.id, y.id].sort());

    const result = await h.stripe.customers.search({ query: `metadata['dealer']:'${tag}'`, limit: 1 });
    expect(result.object).toBe('search_result');
    expect(result.url).toBe('/v1/customers/search');
    expect(result.has_more).toBe(true);
    expect(result.next_page).toBeTruthy();
    const all = await h.stripe.customers
      .search({ query: `metadata['dealer']:'${tag}'`, limit: 1 })
      .autoPagingToArray({ limit: 10 });
    expect(all).toHaveLength(2);

    const mixed = await caught(h.stripe.customers.search({ query: `name:'a' AND email:'b' OR phone:'c'` }));
    expect(mixed).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(mixed.param).toBe('query');
  });
});

describe('products and prices', () => {
  it('creates a product with default_price_data and filters by active', async () => {
    const product = await h.stripe.products.create({
      name: 'Palace 90G',
      metadata: { model: 'palace-90g' },
      default_price_data: { currency: 'EUR', unit_amount: 450_000_00 },
    });
    expect(product.default_price).toMatch(/^price_/);
    const price = await h.stripe.prices.retrieve(product.default_price as string);
    expect(price).toMatchObject({
      product: product.id,
      currency: 'eur',
      unit_amount: 450_000_00,
      type: 'one_time',
      recurring: null,
    });

    const inactive = await h.stripe.products.update(product.id, { active: false, description: 'retired' });
    expect(inactive.active).toBe(false);
    const active = await h.stripe.products.list({ active: true, limit: 100 });
    expect(active.data.map((p) => p.id)).not.toContain(product.id);
    const inactiveList = await h.stripe.products.list({ active: false, limit: 100 });
    expect(inactiveList.data.map((p) => p.id)).toContain(product.id);
  });

  it('creates recurring prices with product or product_data and a lookup key; filters lists', async () => {
    const product = await h.stripe.products.create({ name: 'Loft' });
    const monthly = await h.stripe.prices.create({
      product: product.id,
      currency: 'eur',
      unit_amount: 1_250_00,
      recurring: { interval: 'month', interval_count: 1 },
      lookup_key: `loft-monthly-${product.id}`,
    });
    expect(monthly.recurring).toMatchObject({ interval: 'month', interval_count: 1, usage_type: 'licensed' });
    expect(monthly.type).toBe('recurring');
    expect(monthly.unit_amount_decimal?.toString()).toBe('125000');

    const viaData = await h.stripe.prices.create({
      currency: 'eur',
      unit_amount: 99,
      product_data: { name: 'Home' },
    });
    const home = await h.stripe.products.retrieve(viaData.product as string);
    expect(home.name).toBe('Home');

    const byProduct = await h.stripe.prices.list({ product: product.id });
    expect(byProduct.data.map((p) => p.id)).toEqual([monthly.id]);
    const byKey = await h.stripe.prices.list({ lookup_keys: [`loft-monthly-${product.id}`] });
    expect(byKey.data.map((p) => p.id)).toEqual([monthly.id]);

    const taken = await caught(
      h.stripe.prices.create({
        product: product.id,
        currency: 'eur',
        unit_amount: 1,
        lookup_key: `loft-monthly-${product.id}`,
      }),
    );
    expect(taken.param).toBe('lookup_key');
    const moved = await h.stripe.prices.create({
      product: product.id,
      currency: 'eur',
      unit_amount: 1,
      lookup_key: `loft-monthly-${product.id}`,
      transfer_lookup_key: true,
    });
    expect((await h.stripe.prices.retrieve(monthly.id)).lookup_key).toBeNull();
    expect(moved.lookup_key).toBe(`loft-monthly-${product.id}`);

    await h.stripe.prices.update(monthly.id, { active: false, metadata: { note: 'old' } });
    const activeOnly = await h.stripe.prices.list({ product: product.id, active: true });
    expect(activeOnly.data.map((p) => p.id)).toEqual([moved.id]);

    const setDefault = await h.stripe.products.update(product.id, { default_price: moved.id });
    expect(setDefault.default_price).toBe(moved.id);
  });

  it('deletes a product without prices, refuses one with prices', async () => {
    const bare = await h.stripe.products.create({ name: 'bare' });
    expect((await h.stripe.products.del(bare.id)).deleted).toBe(true);
    expect((await h.stripe.products.retrieve(bare.id)).deleted).toBe(true);
    const priced = await h.stripe.products.create({
      name: 'priced',
      default_price_data: { currency: 'eur', unit_amount: 1 },
    });
    const err = await caught(h.stripe.products.del(priced.id));
    expect(err.statusCode).toBe(400);
    const events = await h.stripe.events.list({ type: 'product.deleted' });
    expect(events.data.map((e) => (e.data.object as Stripe.Product).id)).toContain(bare.id);
  });

  it('rejects prices without product, for a missing product, or with both', async () => {
    const none = await caught(h.stripe.prices.create({ currency: 'eur', unit_amount: 5 }));
    expect(none.code).toBe('parameter_missing');
    expect(none.param).toBe('product');
    const missing = await caught(
      h.stripe.prices.create({ currency: 'eur', unit_amount: 5, product: 'prod_nope' }),
    );
    expect(missing.statusCode).toBe(400);
    expect(missing.code).toBe('resource_missing');
    expect(missing.param).toBe('product');
    const both = await caught(
      h.stripe.prices.create({
        currency: 'eur',
        unit_amount: 5,
        product: 'prod_nope',
        product_data: { name: 'x' },
      }),
    );
    expect(both.code).toBe('parameters_exclusive');
  });
});

describe('events', () => {
  it('records every change with request, previous_attributes and api_version', async () => {
    const c = await h.stripe.customers.create(
      { name: 'Evt', metadata: { a: '1' } },
      { idempotencyKey: 'evt-create-1' },
    );
    await h.stripe.customers.update(c.id, { name: 'Evt 2', metadata: { a: '', b: '2' } });
    await h.stripe.customers.del(c.id);

    const events = (
      await h.stripe.events.list({
        types: ['customer.created', 'customer.updated', 'customer.deleted'],
        limit: 100,
      })
    ).data.filter((e) => (e.data.object as { id: string }).id === c.id);
    expect(events.map((e) => e.type)).toEqual(['customer.deleted', 'customer.updated', 'customer.created']);
    const [deleted, updated, created] = events as [Stripe.Event, Stripe.Event, Stripe.Event];
    expect(created).toMatchObject({
      object: 'event',
      api_version: '2026-10-28.endive',
      livemode: false,
      pending_webhooks: 0,
      request: { id: c.lastResponse.requestId, idempotency_key: 'evt-create-1' },
    });
    expect(created.id).toMatch(/^evt_/);
    expect(updated.data.previous_attributes).toEqual({ name: 'Evt', metadata: { a: '1', b: null } });
    expect((updated.data.object as Stripe.Customer).name).toBe('Evt 2');
    expect((deleted.data.object as Stripe.Customer).name).toBe('Evt 2');

    const one = await h.stripe.events.retrieve(created.id);
    expect(one.type).toBe('customer.created');
  });

  it('filters by type (with wildcard) and created', async () => {
    const product = await h.stripe.products.create({
      name: 'Typed',
      default_price_data: { currency: 'eur', unit_amount: 1 },
    });
    const prices = await h.stripe.events.list({ type: 'price.created', limit: 100 });
    expect(prices.data.every((e) => e.type === 'price.created')).toBe(true);
    const productEvents = await h.stripe.events.list({ type: 'product.*', limit: 100 });
    expect(productEvents.data.some((e) => (e.data.object as Stripe.Product).id === product.id)).toBe(true);
    expect(productEvents.data.every((e) => e.type.startsWith('product.'))).toBe(true);

    const future = await h.stripe.events.list({ created: { gt: h.emu.now() + 10 } });
    expect(future.data).toEqual([]);
    const err = await caught(h.stripe.events.retrieve('evt_missing'));
    expect(err.statusCode).toBe(404);
  });

  it('does not record an event for a no-op update', async () => {
    const c = await h.stripe.customers.create({ name: 'Same' });
    await h.stripe.customers.update(c.id, { name: 'Same' });
    const updates = await h.stripe.events.list({ type: 'customer.updated', limit: 100 });
    expect(updates.data.some((e) => (e.data.object as Stripe.Customer).id === c.id)).toBe(false);
  });
});
