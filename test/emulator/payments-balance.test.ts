/** Refunds, balance, balance transactions and payouts through the SDK. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cardFee,
  DAY,
  type PaymentsHarness,
  START,
  startPayments,
  stopPayments,
} from './payments-helpers.ts';

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPayments();
});
afterAll(() => stopPayments(h));
beforeEach(() => h.reset());

/** A succeeded card payment whose balance transaction exists. */
async function paid(amount: number): Promise<{ pi: Stripe.PaymentIntent; charge: Stripe.Charge }> {
  const pi = await h.stripe.paymentIntents.create({
    amount,
    currency: 'eur',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  await h.emu.advance(5);
  return { pi, charge: await h.stripe.charges.retrieve(pi.latest_charge as string) };
}

describe('refunds', () => {
  it('partial then full: charge.refunded each time, negative balance transactions, then nothing left', async () => {
    const { pi, charge } = await paid(10_000);
    const first = await h.stripe.refunds.create({
      payment_intent: pi.id,
      amount: 3_000,
      reason: 'requested_by_customer',
    });
    expect(first).toMatchObject({
      status: 'succeeded',
      amount: 3_000,
      charge: charge.id,
      payment_intent: pi.id,
      reason: 'requested_by_customer',
    });
    let c = await h.stripe.charges.retrieve(charge.id);
    expect(c).toMatchObject({ amount_refunded: 3_000, refunded: false });
    const rest = await h.stripe.refunds.create({ charge: charge.id });
    expect(rest.amount).toBe(7_000);
    c = await h.stripe.charges.retrieve(charge.id);
    expect(c).toMatchObject({ amount_refunded: 10_000, refunded: true });

    const refundTxns = await h.stripe.balanceTransactions.list({ type: 'refund' });
    expect(refundTxns.data.map((t) => [t.amount, t.fee, t.status])).toEqual([
      [-7_000, 0, 'available'],
      [-3_000, 0, 'available'],
    ]);
    expect((await h.stripe.refunds.list({ payment_intent: pi.id })).data.map((r) => r.id)).toEqual([
      rest.id,
      first.id,
    ]);

    await expect(h.stripe.refunds.create({ charge: charge.id, amount: 1 })).rejects.toMatchObject({
      code: 'charge_already_refunded',
    });
    expect((await h.recordedTypes()).slice(-4)).toEqual([
      'refund.created',
      'charge.refunded',
      'refund.created',
      'charge.refunded',
    ]);
    const refundedEvents = h.delivered('charge.refunded');
    expect(refundedEvents.map((e) => (e.data.object as Stripe.Charge).amount_refunded)).toEqual([
      3_000, 10_000,
    ]);
  });

  it('rejects too much, both or neither of charge and payment_intent, unknown ids', async () => {
    const { pi, charge } = await paid(5_000);
    await expect(h.stripe.refunds.create({ charge: charge.id, amount: 5_001 })).rejects.toMatchObject({
      code: 'amount_too_large',
      param: 'amount',
    });
    await expect(h.stripe.refunds.create({ charge: charge.id, payment_intent: pi.id })).rejects.toMatchObject(
      {
        code: 'parameters_exclusive',
      },
    );
    await expect(h.stripe.refunds.create({})).rejects.toMatchObject({ type: 'StripeInvalidRequestError' });
    await expect(h.stripe.refunds.create({ charge: 'ch_missing' })).rejects.toMatchObject({
      code: 'resource_missing',
      param: 'charge',
    });
    await expect(h.stripe.refunds.create({ charge: charge.id, amount: 0 })).rejects.toMatchObject({
      param: 'amount',
    });
  });
});

describe('balance', () => {
  it('card funds are pending until seven days after the UTC day, then available with balance.available', async () => {
    const { charge } = await paid(100_000);
    const net = 100_000 - cardFee(100_000);
    let balance = await h.stripe.balance.retrieve();
    expect(balance).toMatchObject({
      object: 'balance',
      livemode: false,
      available: [{ amount: 0, currency: 'eur', source_types: { card: 0 } }],
      pending: [{ amount: net, currency: 'eur', source_types: { card: net } }],
    });
    const bt = await h.stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    const availableOn = Math.floor(START / DAY) * DAY + 7 * DAY;
    expect(bt).toMatchObject({
      status: 'pending',
      available_on: availableOn,
      source: charge.id,
      reporting_category: 'charge',
    });

    await h.emu.advance(availableOn - h.emu.now() - 1);
    expect((await h.stripe.balance.retrieve()).available[0]!.amount).toBe(0);
    await h.emu.advance(1);
    balance = await h.stripe.balance.retrieve();
    expect(balance.available[0]!.amount).toBe(net);
    expect(balance.pending[0]!.amount).toBe(0);
    expect((await h.stripe.balanceTransactions.retrieve(bt.id)).status).toBe('available');
    const [event] = h.delivered('balance.available');
    expect((event!.data.object as unknown as Stripe.Balance).available[0]!.amount).toBe(net);
  });

  it('lists balance transactions by type, source and created', async () => {
    const a = await paid(5_000);
    await h.emu.advance(60);
    const b = await paid(7_000);
    const all = await h.stripe.balanceTransactions.list();
    expect(all.data.map((t) => t.source)).toEqual([b.charge.id, a.charge.id]);
    expect((await h.stripe.balanceTransactions.list({ source: a.charge.id })).data).toHaveLength(1);
    expect((await h.stripe.balanceTransactions.list({ type: 'payout' })).data).toHaveLength(0);
    const recent = await h.stripe.balanceTransactions.list({ created: { gt: a.charge.created + 30 } });
    expect(recent.data.map((t) => t.source)).toEqual([b.charge.id]);
    await expect(h.stripe.balanceTransactions.retrieve('txn_missing')).rejects.toMatchObject({
      code: 'resource_missing',
    });
  });
});

describe('payouts', () => {
  it('only from the available balance; paid at arrival; a payout balance transaction', async () => {
    await paid(100_000);
    const net = 100_000 - cardFee(100_000);
    await expect(h.stripe.payouts.create({ amount: 1_000, currency: 'eur' })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'balance_insufficient',
    });
    await h.emu.advance(8 * DAY);
    await expect(h.stripe.payouts.create({ amount: net + 1, currency: 'eur' })).rejects.toMatchObject({
      code: 'balance_insufficient',
    });
    const payout = await h.stripe.payouts.create({ amount: net, currency: 'eur' });
    expect(payout).toMatchObject({ status: 'pending', amount: net, automatic: false, method: 'standard' });
    expect(payout.arrival_date).toBe(Math.floor(h.emu.now() / DAY) * DAY + 2 * DAY);
    const bt = await h.stripe.balanceTransactions.retrieve(payout.balance_transaction as string);
    expect(bt).toMatchObject({
      type: 'payout',
      amount: -net,
      fee: 0,
      status: 'available',
      source: payout.id,
    });
    expect((await h.stripe.balance.retrieve()).available[0]!.amount).toBe(0);
    expect((await h.stripe.balanceTransactions.list({ payout: payout.id })).data.map((t) => t.id)).toEqual([
      bt.id,
    ]);

    await h.emu.advance(2 * DAY);
    expect((await h.stripe.payouts.retrieve(payout.id)).status).toBe('paid');
    expect((await h.recordedTypes()).filter((t) => t.startsWith('payout.'))).toEqual([
      'payout.created',
      'payout.paid',
    ]);
    expect((await h.stripe.payouts.list({ status: 'paid' })).data.map((p) => p.id)).toEqual([payout.id]);
  });

  it('a pending payout can be canceled and its amount returns', async () => {
    await paid(10_000);
    await h.emu.advance(8 * DAY);
    const payout = await h.stripe.payouts.create({ amount: 5_000, currency: 'eur' });
    const canceled = await h.stripe.payouts.cancel(payout.id);
    expect(canceled.status).toBe('canceled');
    expect((await h.stripe.balance.retrieve()).available[0]!.amount).toBe(10_000 - cardFee(10_000));
    await expect(h.stripe.payouts.cancel(payout.id)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
    });
  });
});
