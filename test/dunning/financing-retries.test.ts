/**
 * Retries of a payment are Stripe's, letters are ours (src/dunning/README.md "Retries"): a buyer who pays
 * the letter's link while Stripe still has a retry of the same invoice scheduled is charged once.
 */
import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/invoices/schema.ts';
import { ledgerEntries } from '../../src/ledger/schema.ts';
import { addDays, addMonths } from '../../src/platform/dates.ts';
import {
  advanceThroughMonths,
  advanceTo,
  createBuyer,
  type Dealer,
  nextMonthStart,
  postPlan,
  settle,
} from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf } from './service-fixtures.ts';

describe('dunning and Stripe retries of a financing instalment', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile West');
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });

  it('a buyer who pays the letter’s link while a retry is pending is charged once; no further letter', {
    timeout: 120_000,
  }, async () => {
    const rate = 289_900;
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const created = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: rate,
      startDate: start,
      durationMonths: 24,
    });
    expect(created.statusCode).toBe(201);
    const planId = created.json().id as string;

    // The first instalment is collected; then the card on the subscription starts to fail.
    await advanceThroughMonths(t, start, 1);
    await settle(t);
    const subscription = (await get(`/api/payments/subscriptions/${planId}`)).json().stripeSubscriptionId;
    await t.stripe.subscriptions.update(subscription, {
      default_payment_method: 'pm_card_visa_chargeDeclined',
    });
    const due = addMonths(start, 1, Number(start.slice(8, 10)));
    await advanceThroughMonths(t, start, 2);
    await settle(t);

    const plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    const row = plan.schedule[1];
    expect(row).toMatchObject({ n: 2, dueDate: due, status: 'failed' });
    const stripeInvoiceId = row.stripeInvoiceId as string;
    let atStripe = await t.stripe.invoices.retrieve(stripeInvoiceId);
    expect(atStripe.status).toBe('open');
    expect(atStripe.next_payment_attempt).not.toBeNull();

    // The failure opened the case at once; the Zahlungserinnerung goes out 7 days after the due date.
    // Stripe's retries (3, then 5 days after each failure) fail meanwhile and keep one scheduled.
    const letterDay = addDays(due, 7);
    await advanceTo(t, letterDay);
    const caseUrl = await caseUrlOf(t, dealer.auth, row.invoiceId);
    let c = (await get(caseUrl)).json();
    expect(c).toMatchObject({ origin: 'payment_failed', level: 1 });
    expect(c.letters).toHaveLength(1);
    const [letter] = c.letters;
    expect(letter).toMatchObject({ level: 1, letterDate: letterDay, status: 'sent' });
    expect(letter.paymentUrlKind).toBe('hosted_invoice');
    atStripe = await t.stripe.invoices.retrieve(stripeInvoiceId);
    expect(letter.paymentUrl).toBe(atStripe.hosted_invoice_url);
    expect(atStripe.status).toBe('open');
    const pendingRetry = atStripe.next_payment_attempt;
    expect(pendingRetry).not.toBeNull();
    expect(pendingRetry!).toBeGreaterThan(Math.floor(t.clock.now() / 1000));

    // The link is the invoice's own page, showing what is open.
    const page = await fetch(String(letter.paymentUrl));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-status="open"');

    // The buyer pays that invoice by card, as the hosted page would (the emulator's page shows the
    // invoice and its bank details but has no card form).
    await t.stripe.invoices.pay(stripeInvoiceId, { payment_method: 'pm_card_visa', off_session: false });
    await settle(t);

    // Past the retry Stripe had scheduled, and past the day of the 1. Mahnung (before the next renewal).
    await advanceTo(t, addDays(due, 24));
    expect(Math.floor(t.clock.now() / 1000)).toBeGreaterThan(pendingRetry!);

    // Stripe: paid once, in full, nothing left to retry.
    atStripe = await t.stripe.invoices.retrieve(stripeInvoiceId, { expand: ['payments'] });
    expect(atStripe).toMatchObject({
      status: 'paid',
      amount_due: rate,
      amount_paid: rate,
      amount_remaining: 0,
      next_payment_attempt: null,
    });
    const payments = atStripe.payments?.data ?? [];
    const intentIds = [...new Set(payments.map((p) => p.payment.payment_intent).map(idOf))];
    expect(intentIds).toHaveLength(1);
    const intent = await t.stripe.paymentIntents.retrieve(intentIds[0]!);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: rate });
    const charges: Stripe.Charge[] = [];
    for await (const charge of t.stripe.charges.list({ payment_intent: intent.id, limit: 100 })) {
      charges.push(charge);
    }
    const succeeded = charges.filter((ch) => ch.status === 'succeeded');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]!.amount).toBe(rate);
    // The declined renewal and its declined retry were the other attempts.
    expect(charges.filter((ch) => ch.status === 'failed').length).toBeGreaterThanOrEqual(2);

    // Our books: the invoice paid once. The declined attempts and the success are one PaymentIntent, so the
    // ledger holds exactly one entry for it, settled, of one instalment.
    const [ours] = await t.database.db.select().from(invoices).where(eq(invoices.id, row.invoiceId));
    expect(ours).toMatchObject({ status: 'paid', amountPaid: rate, amountRemaining: 0 });
    const booked = await t.database.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.invoiceId, row.invoiceId));
    expect(booked.map((e) => ({ source: e.sourceId, settlement: e.settlement, amount: e.amount }))).toEqual([
      { source: intent.id, settlement: 'settled', amount: rate },
    ]);

    // Dunning: closed as paid, the one letter and no other.
    c = (await get(caseUrl)).json();
    expect(c).toMatchObject({ status: 'closed', closedReason: 'paid' });
    expect(c.letters.map((l: { level: number }) => l.level)).toEqual([1]);
    expect(c.audit.filter((e: { action: string }) => e.action === 'letter_queued')).toHaveLength(1);
    expect((await get(`/api/payments/subscriptions/${planId}`)).json().schedule[1].status).toBe('paid');
  });
});

function idOf(value: string | { id: string } | null | undefined): string {
  return typeof value === 'string' ? value : (value?.id ?? '');
}
