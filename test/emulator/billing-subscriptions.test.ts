/** Subscriptions: renewals on calendar months, failed renewals with retries, anchors, cancel_at. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, Receiver, startHarness } from './helpers.ts';

// 2027-01-31T10:00:00Z: a month-end anchor exercises clamping (Feb 28, Mar 31 …).
const START = Date.UTC(2027, 0, 31, 10) / 1000;
const DAY = 86_400;
let h: Harness;
let receiver: Receiver;

beforeAll(async () => {
  h = await startHarness({ startTime: START, webhookRetryDelaysMs: [50] });
  receiver = await new Receiver().start();
  await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
});
afterAll(async () => {
  await receiver.stop();
  await h.emu.close();
});

async function caught(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

async function monthlyPrice(amount: number) {
  const product = await h.stripe.products.create({ name: 'Finanzierung Loft' });
  return h.stripe.prices.create({
    product: product.id,
    currency: 'eur',
    unit_amount: amount,
    recurring: { interval: 'month' },
  });
}

function iso(t: number): string {
  return new Date(t * 1000).toISOString().slice(0, 10);
}

async function typesFor(id: string): Promise<string[]> {
  await h.emu.drainWebhooks();
  return receiver.received
    .filter((r) => (r.event.data.object as { id?: string }).id === id)
    .map((r) => r.event.type);
}

describe('subscriptions', () => {
  it('bills now, renews monthly on the clamped anchor day and charges the default card', async () => {
    const price = await monthlyPrice(2_500_00);
    const c = await h.stripe.customers.create({ name: 'Monatsrate' });
    const sub = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
    });
    expect(sub.status).toBe('active');
    expect(sub).not.toHaveProperty('current_period_end');
    expect(iso(sub.items.data[0]!.current_period_end)).toBe('2027-02-28');
    expect(await typesFor(sub.id)).toEqual([
      'customer.subscription.created',
      'customer.subscription.updated',
    ]);

    for (const expected of ['2027-03-31', '2027-04-30', '2027-05-31']) {
      const current = await h.stripe.subscriptions.retrieve(sub.id);
      await h.emu.advance(current.items.data[0]!.current_period_end - h.emu.now() + 2 * 3600);
      const renewed = await h.stripe.subscriptions.retrieve(sub.id);
      expect(iso(renewed.items.data[0]!.current_period_end)).toBe(expected);
      expect(renewed.status).toBe('active');
    }
    const invoices = await h.stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => [i.billing_reason, i.status, i.amount_paid])).toEqual([
      ['subscription_cycle', 'paid', 2_500_00],
      ['subscription_cycle', 'paid', 2_500_00],
      ['subscription_cycle', 'paid', 2_500_00],
      ['subscription_create', 'paid', 2_500_00],
    ]);
    expect(invoices.data[0]!.parent?.subscription_details?.subscription).toBe(sub.id);
  });

  it('a failing renewal retries after 3, 5, 7 days, goes past_due, then is canceled', async () => {
    const price = await monthlyPrice(900_00);
    const c = await h.stripe.customers.create({ name: 'Ausfall' });
    const sub = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
    });
    await h.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_visa_chargeDeclined' });
    const end = sub.items.data[0]!.current_period_end;
    await h.emu.advance(end - h.emu.now() + 3600 + 60);
    const failed = (await h.stripe.invoices.list({ subscription: sub.id, status: 'open' })).data[0]!;
    expect(failed).toMatchObject({ attempt_count: 1 });
    expect(failed.next_payment_attempt).toBe(failed.status_transitions.finalized_at! + 3 * DAY);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');

    await h.emu.advance(3 * DAY);
    expect((await h.stripe.invoices.retrieve(failed.id)).attempt_count).toBe(2);
    await h.emu.advance(5 * DAY);
    expect((await h.stripe.invoices.retrieve(failed.id)).attempt_count).toBe(3);
    await h.emu.advance(7 * DAY);
    const last = await h.stripe.invoices.retrieve(failed.id);
    expect(last).toMatchObject({ attempt_count: 4, next_payment_attempt: null, status: 'open' });
    const canceled = await h.stripe.subscriptions.retrieve(sub.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancellation_details?.reason).toBe('payment_failed');
    const types = await typesFor(failed.id);
    expect(types.filter((t) => t === 'invoice.payment_failed')).toHaveLength(4);
    expect((await typesFor(sub.id)).at(-1)).toBe('customer.subscription.deleted');
  });

  it('a future billing_cycle_anchor bills a prorated stub now; past the natural date is a 400', async () => {
    const price = await monthlyPrice(3_000_00);
    const c = await h.stripe.customers.create({ name: 'Anker' });
    const now = h.emu.now();
    const anchor = now + 15 * DAY;
    const sub = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
      billing_cycle_anchor: anchor,
    });
    expect(sub.items.data[0]!.current_period_end).toBe(anchor);
    const first = await h.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(first.amount_due).toBeGreaterThan(0);
    expect(first.amount_due).toBeLessThan(3_000_00);

    const err = await caught(
      h.stripe.subscriptions.create({
        customer: c.id,
        items: [{ price: price.id }],
        billing_cycle_anchor: now + 40 * DAY,
      }),
    );
    expect(err.statusCode).toBe(400);
    expect(err.param).toBe('billing_cycle_anchor');
  });

  it('cancel_at ends it with customer.subscription.deleted; cancel() ends it now', async () => {
    const price = await monthlyPrice(100_00);
    const c = await h.stripe.customers.create({ name: 'Ende' });
    const now = h.emu.now();
    const sub = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
      cancel_at: now + 10 * DAY,
    });
    expect(sub.items.data[0]!.current_period_end).toBe(now + 10 * DAY);
    await h.emu.advance(10 * DAY + 60);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    expect((await typesFor(sub.id)).at(-1)).toBe('customer.subscription.deleted');

    const other = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
    });
    expect((await h.stripe.subscriptions.cancel(other.id)).status).toBe('canceled');
    expect((await h.stripe.subscriptions.list({ customer: c.id })).data).toHaveLength(0);
    expect((await h.stripe.subscriptions.list({ customer: c.id, status: 'canceled' })).data).toHaveLength(2);
  });
});
