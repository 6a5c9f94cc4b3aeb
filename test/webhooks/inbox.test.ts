import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyers } from '../../src/customers/schema.ts';
import { InboxProcessor, MAX_ATTEMPTS, retryDelayMs } from '../../src/webhooks/processor.ts';
import { webhookInbox } from '../../src/webhooks/schema.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

const SECRET = 'whsec_inboxtestcurrent0001';
const OLD_SECRET = 'whsec_inboxtestprevious001';
const signer = new Stripe('sk_test_signer_only');

function event(
  type: string,
  object: Record<string, unknown>,
  id = `evt_${Math.random().toString(36).slice(2)}`,
) {
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

function signed(payload: string, secret = SECRET, timestamp?: number) {
  return signer.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
}

describe('POST /webhooks/stripe and the inbox', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}` } });
  });
  afterAll(() => t.close());

  const post = (payload: string, signature?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      headers: {
        'content-type': 'application/json',
        ...(signature ? { 'stripe-signature': signature } : {}),
      },
      payload,
    });

  const stored = async (id: string) =>
    t.database.db.select().from(webhookInbox).where(eq(webhookInbox.eventId, id));

  it('stores a verified event once and acknowledges duplicates', async () => {
    const payload = JSON.stringify(
      event('customer.created', { id: 'cus_x', object: 'customer' }, 'evt_once'),
    );
    const first = await post(payload, signed(payload));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true, duplicate: false });
    const again = await post(payload, signed(payload));
    expect(again.json()).toEqual({ received: true, duplicate: true });
    expect(await stored('evt_once')).toHaveLength(1);
  });

  it('refuses a bad, missing or stale signature with 400 and stores nothing', async () => {
    const payload = JSON.stringify(event('invoice.paid', { id: 'in_x', object: 'invoice' }, 'evt_forged'));
    const forged = await post(payload, signed(payload, 'whsec_someoneelse00000'));
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.code).toBe('invalid_signature');
    expect((await post(payload)).statusCode).toBe(400);
    const stale = await post(payload, signed(payload, SECRET, Math.floor(Date.now() / 1000) - 3600));
    expect(stale.statusCode).toBe(400);
    // The body was altered after signing (one byte): the signature no longer matches.
    const tampered = await post(payload.replace('in_x', 'in_y'), signed(payload));
    expect(tampered.statusCode).toBe(400);
    expect(await stored('evt_forged')).toHaveLength(0);
  });

  it('accepts the previous secret during a roll, and a header with several v1 signatures', async () => {
    const payload = JSON.stringify(
      event('customer.created', { id: 'cus_y', object: 'customer' }, 'evt_roll'),
    );
    expect((await post(payload, signed(payload, OLD_SECRET))).statusCode).toBe(200);
    const payload2 = JSON.stringify(
      event('customer.created', { id: 'cus_z', object: 'customer' }, 'evt_multi'),
    );
    const good = signed(payload2).split(',');
    const bad = signed(payload2, 'whsec_notoursnotours00').split(',');
    const both = [good[0], bad[1], good[1]].join(',');
    expect((await post(payload2, both)).statusCode).toBe(200);
  });

  it('acknowledges unknown event types and marks them done', async () => {
    const payload = JSON.stringify(
      event('radar.early_fraud_warning.created', { id: 'issfr_1' }, 'evt_unknown'),
    );
    expect((await post(payload, signed(payload))).statusCode).toBe(200);
    await t.app.inbox.drain();
    const [row] = await stored('evt_unknown');
    expect(row?.status).toBe('succeeded');
  });

  it('retries a failing handler with backoff, then marks it failed for an admin to replay', async () => {
    // A buyer whose Stripe customer does not exist: re-fetching it in the handler fails every time.
    const dealer = await t.createDealer('Retry GmbH');
    const now = new Date(t.clock.now());
    await t.database.db.insert(buyers).values({
      id: 'byr_retry',
      dealerId: dealer.id,
      buyerRef: 'R-1',
      vehicleId: 'V-1',
      type: 'consumer',
      name: 'R',
      email: 'r@example.de',
      address: { line1: 'x', country: 'DE' },
      stripeCustomerId: 'cus_doesnotexist',
      createdAt: now,
      updatedAt: now,
    });
    const payload = JSON.stringify(
      event('customer.updated', { id: 'cus_doesnotexist', object: 'customer' }, 'evt_fail'),
    );
    expect((await post(payload, signed(payload))).statusCode).toBe(200);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await t.app.inbox.drain();
      const [row] = await stored('evt_fail');
      expect(row?.attempts).toBe(attempt);
      expect(row?.status).toBe(attempt < MAX_ATTEMPTS ? 'pending' : 'failed');
      // Not retried before its backoff has passed.
      await t.app.inbox.drain();
      expect((await stored('evt_fail'))[0]?.attempts).toBe(attempt);
      t.clock.advance(retryDelayMs(attempt));
    }
    const failed = await t.app.inject({ url: '/api/admin/webhook-events?status=failed', headers: t.admin });
    expect(failed.json().data.map((e: { eventId: string }) => e.eventId)).toContain('evt_fail');
    expect(failed.json().data[0].lastError).toBeTruthy();

    const replay = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhook-events/evt_fail/replay',
      headers: t.admin,
    });
    expect(replay.statusCode).toBe(200);
    expect((await stored('evt_fail'))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    const notFailed = await t.app.inject({
      method: 'POST',
      url: '/api/admin/webhook-events/evt_once/replay',
      headers: t.admin,
    });
    expect(notFailed.statusCode).toBe(404);
  });

  it('lets several processors share the inbox without applying an event twice', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `evt_shared_${i}`);
    for (const id of ids) {
      const payload = JSON.stringify(event('product.created', { id: `prod_${id}`, object: 'product' }, id));
      await post(payload, signed(payload));
    }
    const applied: string[] = [];
    const deps = {
      db: t.database.db,
      stripe: t.stripe,
      clock: t.clock,
      cache: t.cache,
      log: t.app.log as never,
      publicBaseUrl: 'http://localhost',
    };
    const table = {
      'product.created': async (_ctx: unknown, e: Stripe.Event) => {
        applied.push(e.id);
      },
    };
    const workers = [
      new InboxProcessor(deps, table),
      new InboxProcessor(deps, table),
      new InboxProcessor(deps, table),
    ];
    await Promise.all(workers.map((w) => w.drain()));
    expect(applied.filter((id) => id.startsWith('evt_shared_')).sort()).toEqual([...ids].sort());
  });
});
