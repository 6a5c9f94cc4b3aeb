/** Webhook endpoints and delivery: signatures the SDK verifies, retries, a receiver that is down, chaos. */
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, Receiver, startHarness } from './helpers.ts';

const SECRET = 'whsec_test_fixed_secret';
let h: Harness;
let receiver: Receiver;

beforeAll(async () => {
  h = await startHarness({ webhookSigningSecret: SECRET, webhookRetryDelaysMs: [50, 100, 200] });
});
afterAll(() => h.emu.close());
afterEach(async () => {
  h.emu.setWebhookChaos({ shuffle: false, duplicate: false });
  for (const e of (await h.stripe.webhookEndpoints.list({ limit: 100 })).data)
    await h.stripe.webhookEndpoints.del(e.id);
  await receiver?.stop();
});

describe('webhook endpoints', () => {
  it('shows the secret only at creation and supports retrieve/update/list/delete', async () => {
    const created = await h.stripe.webhookEndpoints.create({
      url: 'https://example.com/hook',
      enabled_events: ['customer.created'],
    });
    expect(created.secret).toBe(SECRET);
    expect(created).toMatchObject({ object: 'webhook_endpoint', status: 'enabled', livemode: false });
    expect(created.id).toMatch(/^we_/);

    const fetched = await h.stripe.webhookEndpoints.retrieve(created.id);
    expect(fetched.secret).toBeUndefined();
    const updated = await h.stripe.webhookEndpoints.update(created.id, {
      disabled: true,
      enabled_events: ['*'],
    });
    expect(updated).toMatchObject({ status: 'disabled', enabled_events: ['*'] });
    expect(updated.secret).toBeUndefined();
    const listed = await h.stripe.webhookEndpoints.list();
    expect(listed.data.map((e) => e.id)).toEqual([created.id]);
    expect(listed.data[0]!.secret).toBeUndefined();

    const deleted = await h.stripe.webhookEndpoints.del(created.id);
    expect(deleted.deleted).toBe(true);
    await expect(h.stripe.webhookEndpoints.retrieve(created.id)).rejects.toMatchObject({
      code: 'resource_missing',
    });
  });

  it('generates a random whsec_ secret per endpoint when none is configured', async () => {
    const other = await startHarness();
    try {
      const a = await other.stripe.webhookEndpoints.create({
        url: 'https://example.com/a',
        enabled_events: ['*'],
      });
      const b = await other.stripe.webhookEndpoints.create({
        url: 'https://example.com/b',
        enabled_events: ['*'],
      });
      expect(a.secret).toMatch(/^whsec_[A-Za-z0-9]{32}$/);
      expect(a.secret).not.toBe(b.secret);
    } finally {
      await other.emu.close();
    }
  });

  it('rejects a bad url', async () => {
    await expect(
      h.stripe.webhookEndpoints.create({ url: 'not a url', enabled_events: ['*'] }),
    ).rejects.toMatchObject({
      param: 'url',
    });
  });
});

describe('delivery', () => {
  it('delivers signed events that stripe.webhooks.constructEvent accepts, also after the clock moved', async () => {
    receiver = await new Receiver().start();
    await h.stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['customer.created', 'customer.updated'],
    });
    const c = await h.stripe.customers.create({ name: 'Signed' });
    await h.emu.advance(30 * 24 * 3600); // signatures use wall time: still within the SDK's tolerance
    await h.stripe.customers.update(c.id, { name: 'Signed again' });
    await h.stripe.products.create({ name: 'not subscribed' });
    await h.emu.drainWebhooks();

    expect(receiver.received.map((r) => r.event.type).sort()).toEqual([
      'customer.created',
      'customer.updated',
    ]);
    for (const r of receiver.received) {
      const event = h.stripe.webhooks.constructEvent(r.body, r.signature, SECRET);
      expect(event.id).toMatch(/^evt_/);
      expect((event.data.object as Stripe.Customer).id).toBe(c.id);
      expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    }
    expect(() =>
      h.stripe.webhooks.constructEvent(
        receiver.received[0]!.body,
        receiver.received[0]!.signature,
        'whsec_wrong',
      ),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const updated = receiver.ofType('customer.updated')[0]!.event;
    expect(updated.data.previous_attributes).toEqual({ name: 'Signed' });

    const stored = await h.stripe.events.retrieve(updated.id);
    expect(stored.pending_webhooks).toBe(0);
  });

  it('retries after a 500 (and after a 3xx) until the receiver answers 2xx', async () => {
    receiver = await new Receiver().start();
    receiver.respond = (_r, n) => (n === 1 ? 500 : n === 2 ? 302 : 200);
    await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['product.created'] });
    const product = await h.stripe.products.create({ name: 'Retry me' });
    await h.emu.drainWebhooks();
    await eventually(() => receiver.received.length >= 3);
    const ids = new Set(receiver.received.map((r) => r.event.id));
    expect(ids.size).toBe(1);
    expect((receiver.received[2]!.event.data.object as Stripe.Product).id).toBe(product.id);
    await eventually(
      async () => (await h.stripe.events.retrieve(receiver.received[0]!.event.id)).pending_webhooks === 0,
    );
  });

  it('keeps everything for a receiver that is down and delivers once it is back', async () => {
    receiver = await new Receiver().start();
    await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    await receiver.stop();
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await h.stripe.customers.create({ name: `offline ${i}` })).id);
    await h.emu.advance(0); // first attempts happen (and fail) before this resolves
    expect(receiver.received).toHaveLength(0);

    await receiver.restart();
    await eventually(() => receiver.ofType('customer.created').length >= 3, 10_000);
    const got = receiver.ofType('customer.created').map((r) => (r.event.data.object as Stripe.Customer).id);
    expect(got.sort()).toEqual(made.sort());
  });

  it('does not deliver to disabled endpoints', async () => {
    receiver = await new Receiver().start();
    const endpoint = await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    await h.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
    await h.stripe.customers.create({ name: 'quiet' });
    await h.emu.drainWebhooks();
    expect(receiver.received).toHaveLength(0);
  });

  it('chaos: duplicates deliveries (same event id twice) and shuffles their order', async () => {
    receiver = await new Receiver().start();
    await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    h.emu.setWebhookChaos({ duplicate: true, shuffle: true });
    const created = [];
    for (let i = 0; i < 8; i++) created.push((await h.stripe.customers.create({ name: `chaos ${i}` })).id);
    await h.emu.drainWebhooks();
    await eventually(() => receiver.received.length >= 16);
    const perEvent = new Map<string, number>();
    for (const r of receiver.received) perEvent.set(r.event.id, (perEvent.get(r.event.id) ?? 0) + 1);
    expect([...perEvent.values()].every((n) => n === 2)).toBe(true);
    expect(perEvent.size).toBe(8);
    for (const r of receiver.received)
      expect(() => h.stripe.webhooks.constructEvent(r.body, r.signature, SECRET)).not.toThrow();
  });
});
