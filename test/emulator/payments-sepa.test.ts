/** SEPA Direct Debit through the SDK: test IBANs, processing → settlement on the emulator clock, chargebacks. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PaymentsHarness, startPayments, stopPayments } from './payments-helpers.ts';

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPayments();
});
afterAll(() => stopPayments(h));
beforeEach(() => h.reset());

const MANDATE = { customer_acceptance: { type: 'offline' as const } };

async function sepaPm(iban: string): Promise<Stripe.PaymentMethod> {
  return h.stripe.paymentMethods.create({
    type: 'sepa_debit',
    sepa_debit: { iban },
    billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' },
  });
}

async function debit(iban: string, amount = 1_500_00): Promise<Stripe.PaymentIntent> {
  const customer = await h.stripe.customers.create({ name: 'Jenny Rosen' });
  const pm = await sepaPm(iban);
  return h.stripe.paymentIntents.create({
    amount,
    currency: 'eur',
    customer: customer.id,
    payment_method: pm.id,
    allowed_payment_method_types: ['sepa_debit'],
    mandate_data: MANDATE,
    confirm: true,
  });
}

const SUBMITTED = ['payment_intent.created', 'payment_intent.processing', 'charge.pending'];

describe('SEPA payment methods', () => {
  it('carry last4, bank_code, country and a stable fingerprint; the account holder name is required', async () => {
    const pm = await sepaPm('DE89 3704 0044 0532 0130 00');
    expect(pm.type).toBe('sepa_debit');
    expect(pm.sepa_debit).toMatchObject({ last4: '3000', bank_code: '37040044', country: 'DE' });
    expect(pm.billing_details).toMatchObject({ name: 'Jenny Rosen', email: 'jenny@example.com' });
    expect((await sepaPm('DE89370400440532013000')).sepa_debit!.fingerprint).toBe(pm.sepa_debit!.fingerprint);
    expect((await sepaPm('DE62370400440532013001')).sepa_debit!.fingerprint).not.toBe(
      pm.sepa_debit!.fingerprint,
    );

    await expect(
      h.stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban: 'DE89370400440532013000' } }),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_missing',
      param: 'billing_details[name]',
    });
    await expect(sepaPm('DE89370400440532013001')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'sepa_debit[iban]',
    });
  });

  it('a SEPA confirmation without a mandate is a 400', async () => {
    const pm = await sepaPm('DE89370400440532013000');
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method: pm.id,
        confirm: true,
      }),
    ).rejects.toMatchObject({ code: 'payment_intent_mandate_invalid', param: 'mandate_data' });
    // Rejected before anything was created.
    expect((await h.stripe.paymentIntents.list()).data).toHaveLength(0);
  });
});

describe('SEPA outcomes on the emulator clock', () => {
  it('DE89…3000: processing, then succeeded after 60 s with a €0.35 payment balance transaction', async () => {
    const pi = await debit('DE89370400440532013000');
    expect(pi.status).toBe('processing');
    const pending = await h.stripe.charges.retrieve(pi.latest_charge as string);
    expect(pending).toMatchObject({ status: 'pending', paid: false, balance_transaction: null });
    expect(pending.payment_method_details!.sepa_debit).toMatchObject({
      last4: '3000',
      bank_code: '37040044',
    });
    expect(pending.payment_method_details!.sepa_debit!.mandate).toMatch(/^mandate_/);
    expect(await h.recordedTypes()).toEqual(SUBMITTED);

    await h.emu.advance(59);
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('processing');
    await h.emu.advance(1);
    const done = await h.stripe.paymentIntents.retrieve(pi.id);
    expect(done).toMatchObject({ status: 'succeeded', amount_received: 1_500_00 });
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string, {
      expand: ['balance_transaction'],
    });
    expect(charge).toMatchObject({ status: 'succeeded', paid: true });
    expect(charge.balance_transaction).toMatchObject({
      type: 'payment',
      amount: 1_500_00,
      fee: 35,
      net: 1_499_65,
    });
    const expected = [...SUBMITTED, 'charge.succeeded', 'payment_intent.succeeded'];
    expect(await h.recordedTypes()).toEqual(expected);
    expect(h.deliveredTypes().sort()).toEqual([...expected].sort());
  });

  it('DE62…3001: fails after 60 s, back to requires_payment_method with the failure code', async () => {
    const pi = await debit('DE62370400440532013001');
    await h.emu.advance(60);
    const failed = await h.stripe.paymentIntents.retrieve(pi.id);
    expect(failed.status).toBe('requires_payment_method');
    expect(failed.last_payment_error).toMatchObject({
      code: 'generic_could_not_process',
      payment_method_type: 'sepa_debit',
    });
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({
      status: 'failed',
      failure_code: 'generic_could_not_process',
      balance_transaction: null,
    });
    expect(charge.failure_message).toBeTruthy();
    expect(await h.recordedTypes()).toEqual([...SUBMITTED, 'charge.failed', 'payment_intent.payment_failed']);
  });

  it('DE08…3003: still processing after a minute, succeeded after three', async () => {
    const pi = await debit('DE08370400440532013003');
    await h.emu.advance(120);
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('processing');
    await h.emu.advance(60);
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  it('DE78…3004: returned after three minutes as debit_not_authorized', async () => {
    const pi = await debit('DE78370400440532013004');
    await h.emu.advance(120);
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('processing');
    await h.emu.advance(60);
    const failed = await h.stripe.paymentIntents.retrieve(pi.id);
    expect(failed.status).toBe('requires_payment_method');
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ status: 'failed', failure_code: 'debit_not_authorized' });
    expect(await h.recordedTypes()).toEqual([...SUBMITTED, 'charge.failed', 'payment_intent.payment_failed']);
  });

  it('DE35…3002: succeeds, then is charged back: amount and €20 fee withdrawn', async () => {
    const pi = await debit('DE35370400440532013002', 2_000_00);
    await h.emu.advance(60);
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge.disputed).toBe(true);
    const [dispute] = (await h.stripe.disputes.list({ charge: charge.id })).data;
    expect(dispute).toMatchObject({
      amount: 2_000_00,
      currency: 'eur',
      status: 'lost',
      payment_intent: pi.id,
    });
    expect(dispute!.balance_transactions[0]).toMatchObject({
      type: 'adjustment',
      reporting_category: 'dispute',
      amount: -2_000_00,
      fee: 2000,
      net: -2_020_00,
    });
    expect(await h.recordedTypes()).toEqual([
      ...SUBMITTED,
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
    ]);
    expect(h.delivered('charge.dispute.created')).toHaveLength(1);
    await expect(h.stripe.refunds.create({ charge: charge.id })).rejects.toMatchObject({
      code: 'charge_disputed',
    });
    // The chargeback is taken from the available balance now; the payment is still pending.
    const balance = await h.stripe.balance.retrieve();
    expect(balance.available[0]).toMatchObject({ currency: 'eur', amount: -2_020_00 });
    expect(balance.pending[0]).toMatchObject({ currency: 'eur', amount: 2_000_00 - 35 });
  });

  it('a pending SEPA charge cannot be refunded; a settled one refunds pending → succeeded', async () => {
    const pi = await debit('DE89370400440532013000');
    await expect(h.stripe.refunds.create({ payment_intent: pi.id })).rejects.toMatchObject({
      code: 'charge_not_refundable',
    });
    await h.emu.advance(60);
    const refund = await h.stripe.refunds.create({ payment_intent: pi.id, amount: 500_00 });
    expect(refund.status).toBe('pending');
    await h.emu.advance(60);
    expect((await h.stripe.refunds.retrieve(refund.id)).status).toBe('succeeded');
    const bt = await h.stripe.balanceTransactions.retrieve(refund.balance_transaction as string);
    expect(bt).toMatchObject({ type: 'payment_refund', amount: -500_00, fee: 0 });
    expect((await h.recordedTypes()).slice(-4)).toEqual([
      'refund.created',
      'charge.refunded',
      'refund.updated',
      'charge.refund.updated',
    ]);
  });
});
