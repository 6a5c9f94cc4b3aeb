/** Subscription schedules, test clocks, and the end-to-end scenario. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, Receiver, startHarness } from './helpers.ts';

const START = Date.UTC(2027, 2, 10, 9) / 1000;
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

async function typesFor(id: string): Promise<string[]> {
  await h.emu.drainWebhooks();
  return receiver.received
    .filter((r) => (r.event.data.object as { id?: string }).id === id)
    .map((r) => r.event.type);
}

async function monthlyPrice(amount: number) {
  const product = await h.stripe.products.create({ name: 'Finanzierung Palace 90G' });
  return h.stripe.prices.create({
    product: product.id,
    currency: 'eur',
    unit_amount: amount,
    recurring: { interval: 'month' },
  });
}

/** Advances to a little after the subscription's current period end (renewal + 1 h finalization). */
async function nextPeriod(subId: string): Promise<void> {
  const sub = await h.stripe.subscriptions.retrieve(subId);
  await h.emu.advance(Math.max(0, sub.items.data[0]!.current_period_end - h.emu.now()) + 2 * 3600);
}

describe('subscription schedules', () => {
  it('rejects iterations with parameter_unknown', async () => {
    const price = await monthlyPrice(100_00);
    const c = await h.stripe.customers.create({ name: 'Iter' });
    const err = await caught(
      h.stripe.subscriptionSchedules.create({
        customer: c.id,
        start_date: 'now',
        phases: [
          { items: [{ price: price.id }], iterations: 12 } as Stripe.SubscriptionScheduleCreateParams.Phase,
        ],
      }),
    );
    expect(err.code).toBe('parameter_unknown');
    expect(err.param).toBe('phases[0][iterations]');
  });

  it('starts next month, runs exactly 48 monthly invoices with one failed renewal retried, then completes', async () => {
    const price = await monthlyPrice(3_456_78);
    const c = await h.stripe.customers.create({
      name: 'Ratenkauf',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const startDate = START + 30 * DAY;
    const schedule = await h.stripe.subscriptionSchedules.create({
      customer: c.id,
      start_date: startDate,
      end_behavior: 'cancel',
      phases: [{ items: [{ price: price.id }], duration: { interval: 'month', interval_count: 48 } }],
    });
    expect(schedule).toMatchObject({ status: 'not_started', subscription: null });
    expect(schedule.phases[0]!.end_date).toBe(Date.UTC(2031, 3, 9, 9) / 1000);

    await h.emu.advance(startDate - h.emu.now() + 60);
    const active = await h.stripe.subscriptionSchedules.retrieve(schedule.id);
    expect(active.status).toBe('active');
    const subId = active.subscription as string;
    expect((await h.stripe.subscriptions.retrieve(subId)).status).toBe('active');

    for (let month = 2; month <= 48; month++) {
      if (month === 5) {
        // Renewal 5 fails; the first retry (3 days later) succeeds with a fixed card.
        await h.stripe.subscriptions.update(subId, { default_payment_method: 'pm_card_visa_chargeDeclined' });
        await nextPeriod(subId);
        expect((await h.stripe.subscriptions.retrieve(subId)).status).toBe('past_due');
        await h.stripe.subscriptions.update(subId, { default_payment_method: 'pm_card_visa' });
        await h.emu.advance(3 * DAY);
        expect((await h.stripe.subscriptions.retrieve(subId)).status).toBe('active');
      } else {
        await nextPeriod(subId);
      }
    }
    await nextPeriod(subId);
    const done = await h.stripe.subscriptionSchedules.retrieve(schedule.id);
    expect(done.status).toBe('completed');
    const sub = await h.stripe.subscriptions.retrieve(subId);
    expect(sub.status).toBe('canceled');
    expect(sub.ended_at).toBe(done.phases[0]!.end_date);
    const invoices = await h.stripe.invoices.list({ subscription: subId, limit: 100 });
    expect(invoices.data).toHaveLength(48);
    expect(invoices.data.every((i) => i.status === 'paid' && i.amount_paid === 3_456_78)).toBe(true);
    expect((await typesFor(subId)).at(-1)).toBe('customer.subscription.deleted');
    expect(await typesFor(schedule.id)).toEqual([
      'subscription_schedule.created',
      'subscription_schedule.updated',
      'subscription_schedule.completed',
    ]);
  });

  it('cancel and release', async () => {
    const price = await monthlyPrice(50_00);
    const c = await h.stripe.customers.create({
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const later = await h.stripe.subscriptionSchedules.create({
      customer: c.id,
      start_date: h.emu.now() + 5 * DAY,
      phases: [{ items: [{ price: price.id }], duration: { interval: 'month', interval_count: 3 } }],
    });
    expect((await h.stripe.subscriptionSchedules.cancel(later.id)).status).toBe('canceled');
    const now = await h.stripe.subscriptionSchedules.create({
      customer: c.id,
      start_date: 'now',
      phases: [{ items: [{ price: price.id }], duration: { interval: 'month', interval_count: 3 } }],
    });
    const released = await h.stripe.subscriptionSchedules.release(now.id);
    expect(released).toMatchObject({ status: 'released', released_subscription: now.subscription });
    expect((await h.stripe.subscriptions.retrieve(now.subscription as string)).schedule).toBeNull();
  });
});

describe('test clocks', () => {
  it('advance forward runs due work; backwards is a 400', async () => {
    const clock = await h.stripe.testHelpers.testClocks.create({ frozen_time: h.emu.now(), name: 'Tacho' });
    expect(clock.status).toBe('ready');
    const c = await h.stripe.customers.create({ test_clock: clock.id });
    expect(c.test_clock).toBe(clock.id);
    const price = await monthlyPrice(10_00);
    const sub = await h.stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      default_payment_method: 'pm_card_visa',
    });
    const target = sub.items.data[0]!.current_period_end + 2 * 3600;
    await h.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: target });
    const after = await h.stripe.testHelpers.testClocks.retrieve(clock.id);
    expect(after).toMatchObject({ status: 'ready', frozen_time: target });
    expect(h.emu.now()).toBeGreaterThanOrEqual(target);
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(2);

    const back = await caught(
      h.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: target - DAY }),
    );
    expect(back.statusCode).toBe(400);
    expect((await h.stripe.testHelpers.testClocks.del(clock.id)).deleted).toBe(true);
  });
});

describe('scenario: remainder by bank transfer', () => {
  it('a 14-day remainder invoice of €180k paid by bank transfer', async () => {
    const c = await h.stripe.customers.create({ name: 'Familie Huber', email: 'huber@example.de' });
    const inv = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 14,
      payment_settings: { payment_method_types: ['customer_balance'] },
      description: 'Restzahlung',
    });
    await h.stripe.invoiceItems.create({
      customer: c.id,
      invoice: inv.id,
      amount: 180_000_00,
      currency: 'eur',
    });
    const open = await h.stripe.invoices.sendInvoice(inv.id);
    await h.emu.advance(10 * DAY);
    expect((await h.stripe.invoices.retrieve(inv.id)).status).toBe('open');
    await h.stripe.testHelpers.customers.fundCashBalance(c.id, {
      amount: 180_000_00,
      currency: 'eur',
      reference: open.number!,
    });
    const paid = await h.stripe.invoices.retrieve(inv.id);
    expect(paid).toMatchObject({ status: 'paid', amount_remaining: 0, amount_paid: 180_000_00 });
    expect(await typesFor(inv.id)).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.sent',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
  });
});
