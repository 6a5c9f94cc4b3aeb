/** Card payments through the SDK: test tokens and numbers, the PaymentIntent lifecycle, declines, params. */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cardFee, type PaymentsHarness, startPayments, stopPayments } from './payments-helpers.ts';

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPayments();
});
afterAll(() => stopPayments(h));
beforeEach(() => h.reset());

async function cardPm(number: string): Promise<Stripe.PaymentMethod> {
  return h.stripe.paymentMethods.create({
    type: 'card',
    card: { number, exp_month: 12, exp_year: 2030, cvc: '123' },
  });
}

async function declineOf(p: Promise<unknown>): Promise<Stripe.errors.StripeCardError> {
  const err = await p.then(
    () => {
      throw new Error('expected a card error');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
  return err as Stripe.errors.StripeCardError;
}

describe('card payment succeeding', () => {
  it('pm_card_visa: succeeded, charge with details, events in Stripe order, funds a moment later', async () => {
    const pi = await h.stripe.paymentIntents.create({
      amount: 250_000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      allowed_payment_method_types: ['card'],
      confirm: true,
      metadata: { contract: 'K-1' },
    });
    expect(pi.status).toBe('succeeded');
    expect(pi.amount_received).toBe(250_000);
    expect(pi.payment_method).toMatch(/^pm_/);
    expect(pi.payment_method).not.toBe('pm_card_visa');
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({
      status: 'succeeded',
      paid: true,
      captured: true,
      amount: 250_000,
      currency: 'eur',
      payment_intent: pi.id,
      metadata: { contract: 'K-1' },
      outcome: { network_status: 'approved_by_network', type: 'authorized' },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    });
    // Asynchronous capture (API 2024-04-10+): no balance transaction yet.
    expect(charge.balance_transaction).toBeNull();
    await h.emu.advance(5);
    const later = await h.stripe.charges.retrieve(charge.id, { expand: ['balance_transaction'] });
    const bt = later.balance_transaction as Stripe.BalanceTransaction;
    expect(bt).toMatchObject({ type: 'charge', amount: 250_000, fee: cardFee(250_000), status: 'pending' });
    expect(bt.net).toBe(250_000 - cardFee(250_000));
    expect(bt.fee_details).toEqual([
      {
        amount: cardFee(250_000),
        application: null,
        currency: 'eur',
        description: 'Stripe processing fees',
        type: 'stripe_fee',
      },
    ]);
    const expected = [
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
    ];
    expect(await h.recordedTypes()).toEqual(expected);
    expect(h.deliveredTypes().sort()).toEqual([...expected].sort());
    expect(h.delivered('charge.updated')[0]!.data.previous_attributes).toEqual({ balance_transaction: null });
  });

  it('confirms in steps: requires_payment_method → requires_confirmation → succeeded', async () => {
    const pi = await h.stripe.paymentIntents.create({ amount: 5_000, currency: 'eur' });
    expect(pi.status).toBe('requires_payment_method');
    expect(pi.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    expect(pi.payment_method_types).toEqual(['card', 'sepa_debit']);
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    const withPm = await h.stripe.paymentIntents.update(pi.id, { payment_method: 'pm_card_mastercard' });
    expect(withPm.status).toBe('requires_confirmation');
    const done = await h.stripe.paymentIntents.confirm(pi.id);
    expect(done.status).toBe('succeeded');
    const listed = await h.stripe.paymentIntents.list();
    expect(listed.data.map((x) => x.id)).toEqual([pi.id]);
  });

  it('cards by number: 4242424242424242 succeeds and carries last4, brand, fingerprint', async () => {
    const pm = await cardPm('4242424242424242');
    expect(pm.card).toMatchObject({
      brand: 'visa',
      last4: '4242',
      exp_month: 12,
      exp_year: 2030,
      funding: 'credit',
    });
    const again = await cardPm('4242 4242 4242 4242');
    expect(again.card!.fingerprint).toBe(pm.card!.fingerprint);
    const pi = await h.stripe.paymentIntents.create({
      amount: 1_000,
      currency: 'eur',
      payment_method: pm.id,
      confirm: true,
    });
    expect(pi.status).toBe('succeeded');
  });
});

describe('card declines', () => {
  it.each([
    ['pm_card_visa_chargeDeclined', 'generic_decline', 'Your card was declined.'],
    [
      'pm_card_visa_chargeDeclinedInsufficientFunds',
      'insufficient_funds',
      'Your card has insufficient funds.',
    ],
  ])(
    '%s → 402 card_declined/%s, PaymentIntent back to requires_payment_method',
    async (token, decline, message) => {
      const err = await declineOf(
        h.stripe.paymentIntents.create({
          amount: 9_900,
          currency: 'eur',
          payment_method: token,
          confirm: true,
        }),
      );
      expect(err.statusCode).toBe(402);
      expect(err.code).toBe('card_declined');
      expect(err.decline_code).toBe(decline);
      expect(err.message).toBe(message);
      const piId = (err.raw as { payment_intent: { id: string } }).payment_intent.id;
      const pi = await h.stripe.paymentIntents.retrieve(piId);
      expect(pi.status).toBe('requires_payment_method');
      expect(pi.payment_method).toBeNull();
      expect(pi.last_payment_error).toMatchObject({
        type: 'card_error',
        code: 'card_declined',
        decline_code: decline,
      });
      const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
      expect(charge).toMatchObject({
        status: 'failed',
        paid: false,
        failure_code: 'card_declined',
        balance_transaction: null,
      });
      expect(charge.outcome).toMatchObject({ type: 'issuer_declined', reason: decline });
      expect(await h.recordedTypes()).toEqual([
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
      ]);
    },
  );

  it.each([
    ['4000000000000002', 'generic_decline'],
    ['4000000000009995', 'insufficient_funds'],
  ])('card %s declines on confirm and on attach (%s)', async (number, decline) => {
    const customer = await h.stripe.customers.create({ name: 'Käufer' });
    const pm = await cardPm(number);
    const attach = await declineOf(h.stripe.paymentMethods.attach(pm.id, { customer: customer.id }));
    expect(attach.decline_code).toBe(decline);
    const err = await declineOf(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method: pm.id,
        confirm: true,
      }),
    );
    expect(err.decline_code).toBe(decline);
  });

  it.each([['pm_card_chargeCustomerFail'], ['4000000000000341']])(
    '%s attaches to a customer, then its charges fail',
    async (source) => {
      const customer = await h.stripe.customers.create({ name: 'Käufer' });
      const pmId = source.startsWith('pm_') ? source : (await cardPm(source)).id;
      const attached = await h.stripe.paymentMethods.attach(pmId, { customer: customer.id });
      expect(attached.customer).toBe(customer.id);
      expect(attached.card!.last4).toBe('0341');
      const err = await declineOf(
        h.stripe.paymentIntents.create({
          amount: 5_000,
          currency: 'eur',
          customer: customer.id,
          payment_method: attached.id,
          off_session: true,
          confirm: true,
        }),
      );
      expect(err.decline_code).toBe('generic_decline');
      expect(await h.recordedTypes()).toEqual([
        'payment_method.attached',
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
      ]);
    },
  );

  it('a declined PaymentIntent can be confirmed again with another card', async () => {
    const err = await declineOf(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method: 'pm_card_visa_chargeDeclined',
        confirm: true,
      }),
    );
    const piId = (err.raw as { payment_intent: { id: string } }).payment_intent.id;
    await expect(h.stripe.paymentIntents.confirm(piId)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'payment_intent_unexpected_state',
    });
    const retried = await h.stripe.paymentIntents.confirm(piId, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
    expect(retried.last_payment_error).toBeNull();
    expect((await h.stripe.charges.list({ payment_intent: piId })).data.map((c) => c.status)).toEqual([
      'succeeded',
      'failed',
    ]);
  });

  it('rejects card data Stripe rejects: wrong number, live card, past expiry', async () => {
    await expect(cardPm('4242424242424241')).rejects.toMatchObject({
      type: 'StripeCardError',
      code: 'incorrect_number',
      param: 'card[number]',
    });
    await expect(cardPm('4111111111111111')).rejects.toMatchObject({
      type: 'StripeCardError',
      code: 'card_declined',
      decline_code: 'test_mode_live_card',
    });
    await expect(
      h.stripe.paymentMethods.create({
        type: 'card',
        card: { number: '4242424242424242', exp_month: 1, exp_year: 2020 },
      }),
    ).rejects.toMatchObject({ code: 'invalid_expiry_year' });
  });
});

describe('PaymentIntent params and states', () => {
  it('amount below the minimum, unknown currency, unknown params are 400s', async () => {
    await expect(h.stripe.paymentIntents.create({ amount: 49, currency: 'eur' })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'amount_too_small',
      param: 'amount',
      message: 'Amount must be at least €0.50 eur',
    });
    await expect(h.stripe.paymentIntents.create({ amount: 5_000, currency: 'xyz' })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'currency',
    });
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        bogus: 1,
      } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({ code: 'parameter_unknown', param: 'bogus' });
    await expect(
      h.stripe.paymentIntents.create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({ code: 'parameter_missing', param: 'amount' });
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'usd',
        allowed_payment_method_types: ['sepa_debit'],
      }),
    ).rejects.toMatchObject({ param: 'allowed_payment_method_types' });
    // endive dropped payment_method_types from PaymentIntent create.
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method_types: ['card'],
      } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({ code: 'parameter_unknown', param: 'payment_method_types' });
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method: 'pm_nope',
        confirm: true,
      }),
    ).rejects.toMatchObject({ code: 'resource_missing', param: 'payment_method', statusCode: 400 });
  });

  it('confirm without a payment method → 400 payment_intent_unexpected_state', async () => {
    await expect(
      h.stripe.paymentIntents.create({ amount: 5_000, currency: 'eur', confirm: true }),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'payment_intent_unexpected_state',
    });
    const pi = await h.stripe.paymentIntents.create({ amount: 5_000, currency: 'eur' });
    await expect(h.stripe.paymentIntents.confirm(pi.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
  });

  it('a payment method type the PaymentIntent does not allow is a 400', async () => {
    const pi = await h.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'eur',
      allowed_payment_method_types: ['card'],
    });
    await expect(
      h.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_sepaDebit_success_de' }),
    ).rejects.toMatchObject({ code: 'payment_intent_incompatible_payment_method' });
  });

  it('cancel: canceled with payment_intent.canceled; a succeeded one cannot be canceled or re-confirmed', async () => {
    const pi = await h.stripe.paymentIntents.create({ amount: 5_000, currency: 'eur' });
    const canceled = await h.stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    expect(canceled.canceled_at).toBe(h.emu.now());
    const paid = await h.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await expect(h.stripe.paymentIntents.cancel(paid.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    await expect(h.stripe.paymentIntents.confirm(paid.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    await expect(h.stripe.paymentIntents.update(paid.id, { amount: 6_000 })).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    const tagged = await h.stripe.paymentIntents.update(paid.id, { metadata: { booked: 'yes' } });
    expect(tagged.metadata).toEqual({ booked: 'yes' });
    expect((await h.recordedTypes()).filter((t) => t === 'payment_intent.canceled')).toHaveLength(1);
  });

  it('a PaymentMethod used without a customer cannot be used again', async () => {
    const pm = await cardPm('4242424242424242');
    await h.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'eur',
      payment_method: pm.id,
      confirm: true,
    });
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        payment_method: pm.id,
        confirm: true,
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'payment_method' });
  });

  it('setup_future_usage attaches the card to the customer on success', async () => {
    const customer = await h.stripe.customers.create({ email: 'k@example.com' });
    const pi = await h.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'eur',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      setup_future_usage: 'off_session',
      confirm: true,
    });
    const pm = await h.stripe.paymentMethods.retrieve(pi.payment_method as string);
    expect(pm.customer).toBe(customer.id);
    expect(await h.recordedTypes()).toEqual([
      'payment_intent.created',
      'payment_method.attached',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
  });
});

describe('payment methods and customers', () => {
  it('attach, list by customer and type, detach (events), no reuse after detach', async () => {
    const customer = await h.stripe.customers.create({ name: 'Käufer' });
    const card = await h.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const sepa = await h.stripe.paymentMethods.create({
      type: 'sepa_debit',
      sepa_debit: { iban: 'DE89370400440532013000' },
      billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' },
    });
    await h.stripe.paymentMethods.attach(sepa.id, { customer: customer.id });
    const all = await h.stripe.customers.listPaymentMethods(customer.id);
    expect(all.data.map((p) => p.id).sort()).toEqual([card.id, sepa.id].sort());
    const cards = await h.stripe.paymentMethods.list({ customer: customer.id, type: 'card' });
    expect(cards.data.map((p) => p.id)).toEqual([card.id]);
    const onlySepa = await h.stripe.customers.listPaymentMethods(customer.id, { type: 'sepa_debit' });
    expect(onlySepa.data.map((p) => p.id)).toEqual([sepa.id]);
    expect((await h.stripe.customers.retrievePaymentMethod(customer.id, card.id)).id).toBe(card.id);

    const detached = await h.stripe.paymentMethods.detach(card.id);
    expect(detached.customer).toBeNull();
    await expect(h.stripe.paymentMethods.attach(card.id, { customer: customer.id })).rejects.toMatchObject({
      code: 'payment_method_unexpected_state',
    });
    await expect(h.stripe.paymentMethods.detach(card.id)).rejects.toMatchObject({
      code: 'payment_method_unexpected_state',
    });
    expect(await h.recordedTypes()).toEqual([
      'payment_method.attached',
      'payment_method.attached',
      'payment_method.detached',
    ]);
    expect(h.delivered('payment_method.detached')[0]!.data.previous_attributes).toEqual({
      customer: customer.id,
    });
  });

  it('invoice_settings.default_payment_method accepts only a PaymentMethod attached to the customer', async () => {
    const customer = await h.stripe.customers.create({ name: 'Käufer' });
    const loose = await h.stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2030 },
    });
    await expect(
      h.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: loose.id } }),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'invoice_settings[default_payment_method]',
    });
    await expect(
      h.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: 'pm_missing' } }),
    ).rejects.toMatchObject({ code: 'resource_missing' });
    await h.stripe.paymentMethods.attach(loose.id, { customer: customer.id });
    const updated = await h.stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: loose.id },
    });
    expect(updated.invoice_settings.default_payment_method).toBe(loose.id);
  });

  it('a card attached to one customer cannot pay for another', async () => {
    const a = await h.stripe.customers.create({ name: 'A' });
    const b = await h.stripe.customers.create({ name: 'B' });
    const pm = await h.stripe.paymentMethods.attach('pm_card_visa', { customer: a.id });
    await expect(
      h.stripe.paymentIntents.create({
        amount: 5_000,
        currency: 'eur',
        customer: b.id,
        payment_method: pm.id,
        confirm: true,
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'payment_method' });
  });
});
