import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeStartOf } from '../../src/financing/plan-terms.ts';
import { calculateQuote, type QuoteInput } from '../../src/financing/quote.ts';
import { terminationCheckFor } from '../../src/financing/service.ts';
import { addMonths, berlinDate } from '../../src/platform/dates.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import {
  advanceDays,
  completeCheckout,
  createBuyer,
  type Dealer,
  nextMonthStart,
  postPlan,
  settle,
  todayOf,
} from './plan-helpers.ts';

const unix = stripeStartOf;
const priceId = (item: { price: string | Stripe.Price | Stripe.DeletedPrice }) =>
  typeof item.price === 'string' ? item.price : item.price.id;

describe('financing plans: POST/GET /api/payments/subscriptions', () => {
  let t: TestApp;
  let a: Dealer;
  let b: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    a = await t.createDealer('Reisemobile Nord');
    b = await t.createDealer('Caravan Süd');
  });
  afterAll(() => t.close());

  const financing = {
    vehiclePrice: 18_990_000,
    downPayment: 3_990_000,
    termMonths: 60,
    nominalRatePercent: 5.99,
    balloonMode: 'separate',
    paymentTiming: 'end',
  } as const;

  const detailOf = async (id: string) =>
    (await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${id}`, headers: a.auth })).json();

  async function schedulesOf(customer: string) {
    return (await t.stripe.subscriptionSchedules.list({ customer, limit: 100 })).data;
  }

  it('runs exactly durationMonths instalments from startDate on a subscription schedule', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const res = await postPlan(t, a, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 345_678,
      startDate: start,
      durationMonths: 48,
    });
    expect(res.statusCode).toBe(201);
    const plan = res.json();
    expect(plan).toMatchObject({
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 345_678,
      startDate: start,
      durationMonths: 48,
      status: 'scheduled',
      paymentMethodTypes: ['sepa_debit', 'card'],
      stripeSubscriptionId: null,
      paidCount: 0,
      remainingCount: 48,
      nextPaymentDate: start,
      balloon: null,
    });
    expect(plan.setupUrl).toBeUndefined();
    expect(plan.quote).toBeUndefined();

    const schedule = await t.stripe.subscriptionSchedules.retrieve(plan.stripeScheduleId);
    expect(schedule).toMatchObject({
      status: 'not_started',
      end_behavior: 'cancel',
      customer: buyer.stripeCustomerId,
      metadata: { financingPlanId: plan.id, vehicleId: buyer.vehicleId, dealerId: a.id },
    });
    expect(schedule.phases).toHaveLength(1);
    const [phase] = schedule.phases;
    // Calendar months from the start date (00:00 UTC, 01:00/02:00 in Berlin): 48 months later, not 48 × 30 days.
    expect(phase?.start_date).toBe(unix(start));
    expect(berlinDate(phase!.start_date * 1000)).toBe(start);
    expect(phase?.end_date).toBe(unix(addMonths(start, 48)));
    expect(phase?.items).toHaveLength(1);
    const price = await t.stripe.prices.retrieve(priceId(phase!.items[0]!));
    expect(price).toMatchObject({
      unit_amount: 345_678,
      currency: 'eur',
      recurring: { interval: 'month', interval_count: 1 },
      lookup_key: 'financing:palace-90g:345678',
    });
    expect(schedule.default_settings.default_payment_method).toBeTruthy();
  });

  it('from a quote: stores it, takes rate and term from it, and collects the last row’s rounding difference', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const expected = calculateQuote({ ...financing, firstPaymentDate: start } as QuoteInput);
    expect(expected.finalPayment).not.toBe(expected.monthlyRate); // the case needs a rounding difference

    const res = await postPlan(t, a, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      startDate: start,
      financing,
    });
    expect(res.statusCode).toBe(201);
    const plan = res.json();
    expect(plan).toMatchObject({
      monthlyRate: expected.monthlyRate,
      durationMonths: 60,
      status: 'scheduled',
    });
    expect(plan.quote).toEqual(JSON.parse(JSON.stringify(expected)));

    // 59 months of R, then one month of the corrected last instalment: Stripe collects the quote exactly.
    const schedule = await t.stripe.subscriptionSchedules.retrieve(plan.stripeScheduleId);
    expect(schedule.phases.map((p) => [p.start_date, p.end_date])).toEqual([
      [unix(start), unix(addMonths(start, 59))],
      [unix(addMonths(start, 59)), unix(addMonths(start, 60))],
    ]);
    const amounts = await Promise.all(
      schedule.phases.map(async (p) => (await t.stripe.prices.retrieve(priceId(p.items[0]!))).unit_amount),
    );
    expect(amounts).toEqual([expected.monthlyRate, expected.finalPayment]);

    const detail = (
      await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${plan.id}`, headers: a.auth })
    ).json();
    expect(detail.schedule).toHaveLength(60);
    expect(detail.schedule.map((r: { amount: number }) => r.amount)).toEqual(
      expected.schedule.map((r) => r.payment),
    );
    expect(detail.schedule.every((r: { status: string }) => r.status === 'upcoming')).toBe(true);
    expect(detail.payoff.total).toBe(expected.financedAmount);
  });

  it('uses one Stripe Product per vehicle model across contracts', async () => {
    const productOf = async (model: string) => {
      const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
      const plan = (
        await postPlan(t, a, {
          customerId: buyer.id,
          vehicleId: buyer.vehicleId,
          vehicleModel: model,
          monthlyRate: 199_900,
          startDate: nextMonthStart(t),
          durationMonths: 24,
        })
      ).json();
      const schedule = await t.stripe.subscriptionSchedules.retrieve(plan.stripeScheduleId);
      const price = await t.stripe.prices.retrieve(priceId(schedule.phases[0]!.items[0]!));
      return { product: price.product as string, price: price.id };
    };
    const first = await productOf('Empire Liner');
    const second = await productOf('empire  liner');
    const other = await productOf('Loft');
    expect(second.product).toBe(first.product);
    expect(second.price).toBe(first.price); // the same rate reuses the lookup-keyed Price too
    expect(other.product).not.toBe(first.product);
    const product = await t.stripe.products.retrieve(first.product);
    expect(product.name).toBe('MORELO Empire Liner – Finanzierung');
    const all = await t.stripe.products.list({ limit: 100 });
    expect(all.data.filter((p) => p.metadata.modelKey === 'empire-liner')).toHaveLength(1);
  });

  it('without a payment method on file: a setup link, and collection starts once the buyer gave one', async () => {
    const buyer = await createBuyer(t, a);
    const start = nextMonthStart(t);
    const res = await postPlan(t, a, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Home',
      monthlyRate: 99_000,
      startDate: start,
      durationMonths: 12,
    });
    expect(res.statusCode).toBe(201);
    const plan = res.json();
    expect(plan).toMatchObject({ status: 'awaiting_payment_method', stripeScheduleId: null });
    expect(plan.setupUrl).toMatch(/^http/);
    expect(await schedulesOf(buyer.stripeCustomerId)).toHaveLength(0);
    const sessions = await t.stripe.checkout.sessions.list({ customer: buyer.stripeCustomerId, limit: 10 });
    expect(sessions.data).toHaveLength(1);
    const session = sessions.data[0]!;
    expect(session).toMatchObject({ mode: 'setup', currency: 'eur', url: plan.setupUrl });
    expect(session.success_url).toBe(`${t.config.publicBaseUrl}/payments/setup-complete?plan=${plan.id}`);

    await completeCheckout(t, session.id, 'card');
    await settle(t);
    const back = await t.app.inject({ method: 'GET', url: `/payments/setup-complete?plan=${plan.id}` });
    expect(back.statusCode).toBe(200);
    expect(back.headers['content-type']).toContain('text/html');

    const detail = (
      await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${plan.id}`, headers: a.auth })
    ).json();
    expect(detail.status).toBe('scheduled');
    expect(detail.setupUrl).toBeUndefined();
    const [schedule] = await schedulesOf(buyer.stripeCustomerId);
    expect(detail.stripeScheduleId).toBe(schedule?.id);
    expect(schedule?.phases[0]?.start_date).toBe(unix(start));
    const customer = (await t.stripe.customers.retrieve(buyer.stripeCustomerId)) as Stripe.Customer;
    expect(customer.invoice_settings.default_payment_method).toBeTruthy();
    expect(schedule?.default_settings.default_payment_method).toBe(
      customer.invoice_settings.default_payment_method,
    );
  });

  it('a plan starting today collects its first instalment at once; list and detail count it', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const today = todayOf(t);
    const res = await postPlan(t, a, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 250_000,
      startDate: today,
      durationMonths: 6,
      paymentMethodTypes: ['card'],
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created.status).toBe('active');
    expect(created.stripeSubscriptionId).toMatch(/^sub_/);
    await settle(t);

    const detail = (
      await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${created.id}`, headers: a.auth })
    ).json();
    expect(detail).toMatchObject({ status: 'active', paidCount: 1, remainingCount: 5 });
    expect(detail.nextPaymentDate).toBe(addMonths(today, 1));
    expect(detail.schedule[0]).toMatchObject({ n: 1, status: 'paid', dueDate: today });
    expect(detail.schedule[0].stripeInvoiceId).toMatch(/^in_/);
    expect(detail.schedule.slice(1).every((r: { status: string }) => r.status === 'upcoming')).toBe(true);
    expect(detail.arrears).toEqual({ amount: 0, count: 0, consecutiveMissed: 0 });
    expect(detail.payoff.total).toBe(5 * 250_000);
    expect(detail.termination.allowed).toBe(false);
    const subscription = await t.stripe.subscriptions.retrieve(created.stripeSubscriptionId);
    expect(subscription.payment_settings?.payment_method_types).toEqual(['card']);

    const list = await t.app.inject({
      method: 'GET',
      url: `/api/payments/subscriptions?customerId=${buyer.id}`,
      headers: a.auth,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toHaveLength(1);
    expect(list.json().data[0]).toMatchObject({ id: created.id, paidCount: 1, remainingCount: 5 });
    const again = await t.app.inject({
      method: 'GET',
      url: `/api/payments/subscriptions?customerId=${buyer.id}`,
      headers: a.auth,
    });
    expect(again.headers['x-cache']).toBe('hit');

    // The instalment is an invoice of ours (kind instalment), so the buyer detail and the ledger show it.
    const buyerView = (
      await t.app.inject({ method: 'GET', url: `/api/payments/customers/${buyer.id}`, headers: a.auth })
    ).json();
    expect(buyerView.financingPlans.map((p: { id: string }) => p.id)).toEqual([created.id]);
    expect(buyerView.invoices).toEqual([
      expect.objectContaining({ kind: 'instalment', status: 'paid', amountDue: 250_000, dueDate: today }),
    ]);
  });

  it('a failing first instalment shows as failed and the plan as past_due', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_chargeCustomerFail' });
    const res = await postPlan(t, a, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 250_000,
      startDate: todayOf(t),
      durationMonths: 6,
      paymentMethodTypes: ['card'],
    });
    expect(res.statusCode).toBe(201);
    await settle(t);
    const detail = (
      await t.app.inject({
        method: 'GET',
        url: `/api/payments/subscriptions/${res.json().id}`,
        headers: a.auth,
      })
    ).json();
    expect(detail.status).toBe('past_due');
    expect(detail.schedule[0].status).toBe('failed');
    expect(detail.paidCount).toBe(0);

    const list = (
      await t.app.inject({
        method: 'GET',
        url: '/api/payments/subscriptions?status=past_due',
        headers: a.auth,
      })
    ).json();
    expect(list.data.map((p: { id: string }) => p.id)).toContain(res.json().id);
  });

  it('keeps dealers apart', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const plan = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Loft',
        monthlyRate: 120_000,
        startDate: nextMonthStart(t),
        durationMonths: 12,
      })
    ).json();
    const other = await t.app.inject({
      method: 'GET',
      url: `/api/payments/subscriptions/${plan.id}`,
      headers: b.auth,
    });
    expect(other.statusCode).toBe(404);
    const list = (
      await t.app.inject({ method: 'GET', url: '/api/payments/subscriptions', headers: b.auth })
    ).json();
    expect(list.data).toEqual([]);
    for (const path of ['payoff', 'cancel']) {
      const write = await t.app.inject({
        method: 'POST',
        url: `/api/payments/subscriptions/${plan.id}/${path}`,
        headers: b.auth,
        payload: path === 'cancel' ? { reason: 'x' } : undefined,
      });
      expect(write.statusCode).toBe(404);
    }
    // Another dealer's buyer is as unknown as a made-up one.
    const foreign = await postPlan(t, b, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Loft',
      monthlyRate: 120_000,
      startDate: nextMonthStart(t),
      durationMonths: 12,
    });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().error.details[0].field).toBe('body.customerId');
    const admin = await t.app.inject({
      method: 'GET',
      url: `/api/payments/subscriptions/${plan.id}`,
      headers: t.admin,
    });
    expect(admin.statusCode).toBe(200);
  });

  it('is idempotent: the same Idempotency-Key makes one plan and one schedule', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const payload = {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 150_000,
      startDate: nextMonthStart(t),
      durationMonths: 36,
    };
    const first = await postPlan(t, a, payload, { 'idempotency-key': 'plan-once' });
    const second = await postPlan(t, a, payload, { 'idempotency-key': 'plan-once' });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    expect(await schedulesOf(buyer.stripeCustomerId)).toHaveLength(1);
    const changed = await postPlan(
      t,
      a,
      { ...payload, monthlyRate: 150_001 },
      { 'idempotency-key': 'plan-once' },
    );
    expect(changed.statusCode).toBe(422);
  });

  describe('bad input is a 400 naming the field, and nothing reaches Stripe', () => {
    let buyer: Awaited<ReturnType<typeof createBuyer>>;
    beforeAll(async () => {
      buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    });
    const valid = () => ({
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Palace 90G',
      monthlyRate: 150_000,
      startDate: nextMonthStart(t),
      durationMonths: 36,
    });
    const cases: Array<[string, () => Record<string, unknown>, string]> = [
      [
        'startDate in the past',
        () => ({ ...valid(), startDate: addMonths(todayOf(t), -1) }),
        'body.startDate',
      ],
      ['startDate not a day', () => ({ ...valid(), startDate: '2027-02-30' }), 'body.startDate'],
      ['durationMonths 0', () => ({ ...valid(), durationMonths: 0 }), 'body.durationMonths'],
      ['durationMonths 121', () => ({ ...valid(), durationMonths: 121 }), 'body.durationMonths'],
      ['amount not whole cents', () => ({ ...valid(), monthlyRate: 1500.5 }), 'body.monthlyRate'],
      ['no rate and no quote', () => ({ ...valid(), monthlyRate: undefined }), 'body.monthlyRate'],
      ['unknown customer', () => ({ ...valid(), customerId: 'byr_nobody' }), 'body.customerId'],
      [
        'rate and quote at once',
        () => ({ ...valid(), durationMonths: undefined, financing }),
        'body.monthlyRate',
      ],
      [
        'a quote the maths refuses',
        () => ({
          ...valid(),
          monthlyRate: undefined,
          durationMonths: undefined,
          financing: { ...financing, balloon: 15_000_000 },
        }),
        'body.financing.balloon',
      ],
      [
        'a quote of the wrong shape',
        () => ({
          ...valid(),
          monthlyRate: undefined,
          durationMonths: undefined,
          financing: { ...financing, termMonths: 0 },
        }),
        'body.financing.termMonths',
      ],
      [
        'a term that contradicts the quote',
        () => ({ ...valid(), monthlyRate: undefined, durationMonths: 48, financing }),
        'body.durationMonths',
      ],
      [
        'SEPA for an instalment above 10.000 €',
        () => ({ ...valid(), monthlyRate: 1_000_001, paymentMethodTypes: ['sepa_debit'] }),
        'body.paymentMethodTypes',
      ],
    ];
    it.each(cases)('%s', async (_name, payload, field) => {
      const res = await postPlan(t, a, payload());
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(await schedulesOf(buyer.stripeCustomerId)).toHaveLength(0);
      const sessions = await t.stripe.checkout.sessions.list({ customer: buyer.stripeCustomerId, limit: 1 });
      expect(sessions.data).toHaveLength(0);
    });
  });

  it('cancel: Stripe stops the schedule, the plan is canceled with its reason', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const plan = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Loft',
        monthlyRate: 120_000,
        startDate: nextMonthStart(t),
        durationMonths: 12,
      })
    ).json();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${plan.id}/cancel`,
      headers: a.auth,
      payload: { reason: 'Widerruf des Käufers' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'canceled',
      cancelReason: 'Widerruf des Käufers',
      remainingCount: 0,
    });
    expect((await t.stripe.subscriptionSchedules.retrieve(plan.stripeScheduleId)).status).toBe('canceled');
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${plan.id}/payoff`,
      headers: a.auth,
    });
    expect(again.statusCode).toBe(409);
  });

  it('payoff: no further instalments, one invoice for the remaining principal, paid_off once it is paid', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const today = todayOf(t);
    const created = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Palace 90G',
        startDate: today,
        financing: { ...financing, termMonths: 24 },
      })
    ).json();
    await settle(t);
    const quote = created.quote;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${created.id}/payoff`,
      headers: a.auth,
    });
    expect(res.statusCode).toBe(200);
    const ended = res.json();
    expect(ended.status).toBe('terminated_early');
    // One instalment paid: what is left is the balance after it, with no interest after today.
    const payoffInvoice = ended.payoffInvoiceId;
    expect(payoffInvoice).toMatch(/^inv_/);
    const invoice = (
      await t.app.inject({ method: 'GET', url: `/api/payments/invoices/${payoffInvoice}`, headers: a.auth })
    ).json();
    expect(invoice).toMatchObject({ kind: 'payoff', status: 'open', amountDue: quote.schedule[0].balance });
    expect(invoice.paymentMethodTypes).toContain('customer_balance');
    const subscription = await t.stripe.subscriptions.retrieve(created.stripeSubscriptionId);
    expect(subscription.status).toBe('canceled');

    // Paying again is answered with the same plan, not a second invoice.
    const twice = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${created.id}/payoff`,
      headers: a.auth,
    });
    expect(twice.json().payoffInvoiceId).toBe(payoffInvoice);

    await t.stripe.testHelpers.customers.fundCashBalance(buyer.stripeCustomerId, {
      amount: invoice.amountDue,
      currency: 'eur',
      reference: invoice.number,
    });
    await settle(t);
    const done = (
      await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions/${created.id}`, headers: a.auth })
    ).json();
    expect(done.status).toBe('paid_off');
    expect(done.payoff).toBeNull();

    // Stripe bills nothing more for this plan, however far the clock moves.
    await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 62 },
    });
    const invoices = await t.stripe.invoices.list({ subscription: created.stripeSubscriptionId, limit: 100 });
    expect(invoices.data).toHaveLength(1);
  });

  it('a SEPA instalment shows as processing until it settles; payoff waits for it', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_sepaDebit_successDelayed_de' });
    const created = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Home',
        monthlyRate: 150_000,
        startDate: todayOf(t),
        durationMonths: 12,
      })
    ).json();
    await settle(t);
    const pending = await detailOf(created.id);
    expect(pending.schedule[0].status).toBe('processing');
    expect(pending.paidCount).toBe(0);
    expect(pending.arrears.amount).toBe(0); // due today: not in arrears
    const payoff = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${created.id}/payoff`,
      headers: a.auth,
    });
    expect(payoff.statusCode).toBe(409);
    expect(payoff.json().error.code).toBe('payment_processing');

    await advanceDays(t, 5);
    const settled = await detailOf(created.id);
    expect(settled.schedule[0].status).toBe('paid');
    expect(settled.paidCount).toBe(1);
  });

  it('a subscription ended at Stripe before its term makes the plan ended_early', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const created = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Loft',
        monthlyRate: 120_000,
        startDate: todayOf(t),
        durationMonths: 12,
      })
    ).json();
    await settle(t);
    await t.stripe.subscriptions.cancel(created.stripeSubscriptionId);
    await settle(t);
    const ended = await detailOf(created.id);
    expect(ended).toMatchObject({
      status: 'ended_early',
      endReason: 'cancellation_requested',
      paidCount: 1,
      remainingCount: 0,
      nextPaymentDate: null,
    });
    // Canceled on purpose (not Stripe giving up after failed payments): nothing more is owed or billed.
    expect(ended.payoff).toBeNull();
    const payoff = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${created.id}/payoff`,
      headers: a.auth,
    });
    expect(payoff.statusCode).toBe(409);
    expect(payoff.json().error.code).toBe('plan_ended');
  });

  it('an expired setup link is replaced by a fresh one while the plan waits', async () => {
    const buyer = await createBuyer(t, a);
    const created = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Home',
        monthlyRate: 99_000,
        startDate: addMonths(todayOf(t), 2),
        durationMonths: 12,
      })
    ).json();
    await advanceDays(t, 2); // Checkout Sessions expire after 24 hours
    const waiting = await detailOf(created.id);
    expect(waiting.status).toBe('awaiting_payment_method');
    expect(waiting.setupUrl).toMatch(/^http/);
    expect(waiting.setupUrl).not.toBe(created.setupUrl);

    // Canceling a waiting plan expires its link: a late setup starts nothing.
    const canceled = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${created.id}/cancel`,
      headers: a.auth,
      payload: { reason: 'Kauf storniert' },
    });
    expect(canceled.json().status).toBe('canceled');
    const sessions = await t.stripe.checkout.sessions.list({ customer: buyer.stripeCustomerId, limit: 10 });
    expect(sessions.data.every((session) => session.status === 'expired')).toBe(true);
    expect(await schedulesOf(buyer.stripeCustomerId)).toHaveLength(0);
  });

  it('a payment method given after the start date starts the plan today, every due date moved', async () => {
    const buyer = await createBuyer(t, a);
    const created = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Home',
        monthlyRate: 99_000,
        startDate: todayOf(t),
        durationMonths: 3,
      })
    ).json();
    expect(created.status).toBe('awaiting_payment_method');
    await advanceDays(t, 3);
    const waiting = await detailOf(created.id);
    const session = (
      await t.stripe.checkout.sessions.list({ customer: buyer.stripeCustomerId, limit: 10 })
    ).data.find((s) => s.url === waiting.setupUrl);
    await completeCheckout(t, session!.id, 'card');
    await settle(t);
    const started = await detailOf(created.id);
    const today = todayOf(t);
    expect(started).toMatchObject({ status: 'active', startDate: today, paidCount: 1, remainingCount: 2 });
    expect(started.schedule.map((r: { dueDate: string }) => r.dueDate)).toEqual([
      today,
      addMonths(today, 1),
      addMonths(today, 2),
    ]);
  });

  it('lists page by page, newest first', async () => {
    const page = async (query: string) =>
      (
        await t.app.inject({ method: 'GET', url: `/api/payments/subscriptions?${query}`, headers: a.auth })
      ).json();
    const first = await page('limit=2');
    expect(first.data).toHaveLength(2);
    expect(first.hasMore).toBe(true);
    const second = await page(`limit=2&cursor=${first.nextCursor}`);
    const ids = [...first.data, ...second.data].map((p: { id: string }) => p.id);
    expect(new Set(ids).size).toBe(4);
    const all = await page('limit=100');
    expect(all.data.slice(0, 4).map((p: { id: string }) => p.id)).toEqual(ids);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/payments/subscriptions?cursor=zzz',
      headers: a.auth,
    });
    expect(bad.statusCode).toBe(400);
  });

  it('exports the § 498 BGB check for dunning', async () => {
    const buyer = await createBuyer(t, a, { paymentMethod: 'pm_card_visa' });
    const plan = (
      await postPlan(t, a, {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        vehicleModel: 'Loft',
        monthlyRate: 120_000,
        startDate: nextMonthStart(t),
        durationMonths: 12,
      })
    ).json();
    const services = {
      db: t.database.db,
      stripe: t.stripe,
      clock: t.clock,
      cache: t.cache,
      log: console as never,
      publicBaseUrl: '',
    };
    // Four instalments due and unpaid by then (no invoice was ever collected in this test).
    const later = addMonths(plan.startDate, 4);
    const check = await terminationCheckFor(services, plan.id, later);
    expect(check).toMatchObject({ consecutiveMissed: 4, arrears: 4 * 120_000, thresholdPercent: 10 });
    expect(check.allowed).toBe(false); // no warning sent yet
    expect(check.canSendWarning).toBe(true);
  });
});
