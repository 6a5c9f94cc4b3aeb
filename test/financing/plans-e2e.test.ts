/**
 * The end-to-end checks: whole plans run month by month on the offline clock through
 * POST /api/dev/advance-time, with Stripe (the emulator) collecting and our ledger recording.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import { BALLOON_NOTICE_DAYS } from '../../src/financing/service.ts';
import { addDays, addMonths, daysBetween } from '../../src/platform/dates.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import {
  advanceDays,
  advanceThroughMonths,
  createBuyer,
  type Dealer,
  ledgerSum,
  nextMonthStart,
  postPlan,
  settle,
  todayOf,
} from './plan-helpers.ts';

async function subscriptionInvoices(t: TestApp, subscription: string): Promise<Stripe.Invoice[]> {
  const all: Stripe.Invoice[] = [];
  for await (const invoice of t.stripe.invoices.list({ subscription, limit: 100 })) all.push(invoice);
  return all.sort((x, y) => x.created - y.created);
}

describe('financing plans end to end', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Ost');
  });
  afterAll(() => t.close());

  const detailOf = async (id: string) =>
    (
      await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${id}`, headers: dealer.auth })
    ).json();

  it('a 60-month plan starting next month collects every instalment and ends itself', {
    timeout: 120_000,
  }, async () => {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const rate = 289_922;
    const res = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: rate,
      startDate: start,
      durationMonths: 60,
    });
    expect(res.statusCode).toBe(201);
    const plan = res.json();

    await advanceThroughMonths(t, start, 61);
    await settle(t);

    const done = await detailOf(plan.id);
    expect(done).toMatchObject({
      status: 'completed',
      paidCount: 60,
      remainingCount: 0,
      nextPaymentDate: null,
    });
    expect(done.schedule.every((r: { status: string }) => r.status === 'paid')).toBe(true);
    expect(done.schedule.at(-1).dueDate).toBe(addMonths(start, 59));

    const invoices = await subscriptionInvoices(t, done.stripeSubscriptionId);
    expect(invoices).toHaveLength(60);
    expect(invoices.every((i) => i.status === 'paid' && i.amount_paid === rate)).toBe(true);
    expect((await t.stripe.subscriptions.retrieve(done.stripeSubscriptionId)).status).toBe('canceled');
    expect(await ledgerSum(t, buyer.vehicleId, 'instalment')).toEqual({ sum: 60 * rate, count: 60 });
  });

  it('follows Stripe through shuffled and duplicated events: a failed renewal, its retry, the end', {
    timeout: 120_000,
  }, async () => {
    t.emulator.setWebhookChaos({ shuffle: true, duplicate: true });
    try {
      const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
      const start = nextMonthStart(t);
      const plan = (
        await postPlan(t, dealer, {
          customerId: buyer.id,
          vehicleId: buyer.vehicleId,
          vehicleModel: 'Loft',
          startDate: start,
          financing: {
            vehiclePrice: 9_990_000,
            downPayment: 1_990_000,
            termMonths: 12,
            nominalRatePercent: 3.99,
            balloonMode: 'separate',
            paymentTiming: 'end',
          },
        })
      ).json();
      await advanceThroughMonths(t, start, 3);
      const subscription = (await detailOf(plan.id)).stripeSubscriptionId;
      await t.stripe.subscriptions.update(subscription, {
        default_payment_method: 'pm_card_visa_chargeDeclined',
      });
      await advanceThroughMonths(t, start, 4);
      await settle(t);
      const failing = await detailOf(plan.id);
      expect(failing.status).toBe('past_due');
      expect(failing.schedule[3].status).toBe('failed');
      expect(failing.arrears).toMatchObject({ count: 1, amount: plan.monthlyRate });

      await t.stripe.subscriptions.update(subscription, { default_payment_method: 'pm_card_visa' });
      await advanceDays(t, 4); // Stripe's first retry
      await settle(t);
      const recovered = await detailOf(plan.id);
      expect(recovered.status).toBe('active');
      expect(recovered.schedule[3].status).toBe('paid');

      await advanceThroughMonths(t, start, 13);
      await settle(t);
      const done = await detailOf(plan.id);
      expect(done).toMatchObject({ status: 'completed', paidCount: 12, remainingCount: 0 });
      const paid = plan.quote.schedule.map((row: { payment: number }) => row.payment);
      const invoices = await subscriptionInvoices(t, subscription);
      expect(invoices.map((i) => i.amount_paid)).toEqual(paid);
      const total = paid.reduce((sum: number, v: number) => sum + v, 0);
      expect(await ledgerSum(t, buyer.vehicleId, 'instalment')).toEqual({ sum: total, count: 12 });
    } finally {
      t.emulator.setWebhookChaos({ shuffle: false, duplicate: false });
    }
  });

  it('a 96-month plan with balloon collects exactly the quoted schedule, the balloon by bank transfer', {
    timeout: 180_000,
  }, async () => {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const financing = {
      vehiclePrice: 24_990_000,
      downPayment: 4_990_000,
      termMonths: 96,
      nominalRatePercent: 4.99,
      balloon: 6_000_000,
      balloonMode: 'separate',
      paymentTiming: 'end',
    } as const;
    const quote = calculateQuote({ ...financing, firstPaymentDate: start } as QuoteInput);
    const res = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Empire Liner',
      startDate: start,
      financing,
    });
    expect(res.statusCode).toBe(201);
    const plan = res.json();
    expect(plan.balloon).toMatchObject({ amount: 6_000_000, dueDate: addMonths(start, 95), invoiceId: null });

    // 95 instalments, then the day the balloon invoice is due to go out, then the last instalment.
    await advanceThroughMonths(t, start, 95);
    await advanceDays(t, daysBetween(todayOf(t), addDays(plan.balloon.dueDate, -BALLOON_NOTICE_DAYS)));
    expect((await detailOf(plan.id)).balloon.invoiceId).toMatch(/^inv_/);
    await advanceThroughMonths(t, start, 96);
    await settle(t);

    // The balloon went out two weeks before it was due, payable by bank transfer; nothing paid it yet.
    const before = await detailOf(plan.id);
    expect(before.paidCount).toBe(96);
    const balloonRow = before.schedule.at(-1);
    expect(balloonRow).toMatchObject({ kind: 'balloon', amount: 6_000_000, status: 'open' });
    const balloonInvoice = (
      await t.app.inject({
        method: 'GET',
        url: `/api/payments/invoices/${balloonRow.invoiceId}`,
        headers: dealer.auth,
      })
    ).json();
    expect(balloonInvoice).toMatchObject({
      kind: 'balloon',
      status: 'open',
      amountDue: 6_000_000,
      dueDate: addMonths(start, 95),
    });
    expect(balloonInvoice.paymentMethodTypes).toEqual(['customer_balance', 'card']);

    await t.stripe.testHelpers.customers.fundCashBalance(buyer.stripeCustomerId, {
      amount: 6_000_000,
      currency: 'eur',
      reference: balloonInvoice.number,
    });
    await settle(t);
    await advanceDays(t, 40); // past the end of the last period: the schedule ends the subscription
    await settle(t);

    const done = await detailOf(plan.id);
    expect(done).toMatchObject({ status: 'completed', paidCount: 97, remainingCount: 0 });

    // Stripe collected the quote's schedule exactly: 95 × R, the corrected last instalment, the balloon.
    const instalments: number[] = quote.schedule.map((row) => row.payment);
    instalments[95] = (instalments[95] ?? 0) - 6_000_000;
    const invoices = await subscriptionInvoices(t, done.stripeSubscriptionId);
    expect(invoices.map((i) => i.amount_paid)).toEqual(instalments);
    const balloonAtStripe = await t.stripe.invoices.retrieve(balloonInvoice.stripeInvoiceId);
    expect(balloonAtStripe).toMatchObject({ status: 'paid', amount_paid: 6_000_000 });

    const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);
    expect(await ledgerSum(t, buyer.vehicleId, 'instalment')).toEqual({ sum: sum(instalments), count: 96 });
    expect(await ledgerSum(t, buyer.vehicleId, 'balloon')).toEqual({ sum: 6_000_000, count: 1 });
    expect(sum(instalments) + 6_000_000).toBe(quote.totalPayable);
  });
});
