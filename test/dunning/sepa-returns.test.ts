/**
 * Returned SEPA debits end to end on the emulator: a debit the emulator's bank fails reaches dunning
 * through the real webhook path (invoice.payment_failed → the failed PaymentIntent → its charge), the
 * case opens with the SEPA reason and Stripe's code, and after MD01 no further debit of that mandate.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEPA_RETURN_CODES, sepaReturnReason } from '../../src/dunning/sepa-returns.ts';
import { addMonths, daysBetween } from '../../src/platform/dates.ts';
import {
  advanceDays,
  advanceThroughMonths,
  createBuyer,
  type Dealer,
  nextMonthStart,
  postPlan,
  settle,
  todayOf,
} from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf } from './service-fixtures.ts';

interface CaseView {
  id: string;
  origin: string;
  returnReasonCode: string | null;
  returnFailureCode: string | null;
  mayRedebit: boolean;
  invoice: { id: string };
  audit: { action: string; reason: string | null; details: Record<string, unknown> | null }[];
}

describe('SEPA return reasons', () => {
  it('maps Stripe’s failure codes to the reasons GERMAN-LAW.md lists, and only those', () => {
    expect(SEPA_RETURN_CODES).toEqual(['AM04', 'MD06', 'MD01', 'MS02', 'AC04']);
    expect(sepaReturnReason('insufficient_funds')).toBe('AM04');
    expect(sepaReturnReason('debit_disputed')).toBe('MD06');
    expect(sepaReturnReason('debit_not_authorized')).toBe('MD01');
    expect(sepaReturnReason('refer_to_customer')).toBe('MS02');
    expect(sepaReturnReason('account_closed')).toBe('AC04');
    expect(sepaReturnReason('md06')).toBe('MD06');
    expect(sepaReturnReason('generic_could_not_process')).toBeNull();
    expect(sepaReturnReason(null)).toBeNull();
  });
});

describe('returned SEPA debits on the emulator', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Ost');
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });
  async function caseOf(invoiceId: string): Promise<CaseView> {
    return (await get(await caseUrlOf(t, dealer.auth, invoiceId))).json();
  }

  /** An invoice through the API, paid at Stripe by a SEPA debit from a test IBAN's PaymentMethod. */
  async function invoicePaidBySepa(token: string) {
    const buyer = await createBuyer(t, dealer);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: dealer.auth,
      payload: {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        kind: 'remainder',
        amount: 850_000,
        description: 'Restzahlung Markise und Solaranlage',
        daysUntilDue: 14,
      },
    });
    expect(created.statusCode).toBe(201);
    const { id, stripeInvoiceId } = created.json() as { id: string; stripeInvoiceId: string };
    const method = await t.stripe.paymentMethods.attach(token, { customer: buyer.stripeCustomerId });
    const paying = await t.stripe.invoices.pay(stripeInvoiceId, { payment_method: method.id });
    expect(paying.status).toBe('open');
    await settle(t);
    return { invoiceId: id, stripeInvoiceId };
  }

  it('a SEPA debit the bank returns opens the case with the SEPA reason and Stripe’s code', {
    timeout: 60_000,
  }, async () => {
    const short = await invoicePaidBySepa('pm_sepaDebit_insufficientFunds_de');
    const unexplained = await invoicePaidBySepa('pm_sepaDebit_failed_de');
    // The debits are under way: no case yet, the invoices show a payment in flight.
    const inFlight = await get(`/api/payments/invoices/${short.invoiceId}`);
    expect(inFlight.json()).toMatchObject({ status: 'open' });

    // The emulator's bank answers 60 s later; one day on, every event has been applied.
    await advanceDays(t, 1);
    await settle(t);

    const c = await caseOf(short.invoiceId);
    expect(c).toMatchObject({
      origin: 'returned_debit',
      returnReasonCode: 'AM04',
      returnFailureCode: 'insufficient_funds',
      mayRedebit: true,
    });
    const returned = c.audit.find((e) => e.action === 'debit_returned');
    expect(returned).toMatchObject({
      reason: 'SEPA-Rückgabegrund AM04 (Stripe: insufficient_funds)',
      details: { reasonCode: 'AM04', stripeFailureCode: 'insufficient_funds', mayRedebit: true },
    });

    // A code without a SEPA reason behind it keeps Stripe's code, and no reason is made up.
    const other = await caseOf(unexplained.invoiceId);
    expect(other).toMatchObject({
      origin: 'returned_debit',
      returnReasonCode: null,
      returnFailureCode: 'generic_could_not_process',
      mayRedebit: true,
    });
    const stripeInvoice = await t.stripe.invoices.retrieve(short.stripeInvoiceId);
    expect(stripeInvoice.status).toBe('open');
  });

  it('after MD01 on a financing instalment the mandate is taken off Stripe: no further SEPA debit', {
    timeout: 180_000,
  }, async () => {
    const rate = 189_900;
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_sepaDebit_success_de' });
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

    // The first instalment is debited; then the buyer's new account has no mandate at its bank (DE78…:
    // debit_not_authorized after 180 s).
    await advanceThroughMonths(t, start, 1);
    await settle(t);
    const subscriptionId = (await get(`/api/payments/subscriptions/${planId}`)).json()
      .stripeSubscriptionId as string;
    const noMandate = await t.stripe.paymentMethods.attach('pm_sepaDebit_failedDelayed_de', {
      customer: buyer.stripeCustomerId,
    });
    await t.stripe.subscriptions.update(subscriptionId, { default_payment_method: noMandate.id });
    const due = addMonths(start, 1, Number(start.slice(8, 10)));
    await advanceThroughMonths(t, start, 2);
    await settle(t);

    const plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    const row = plan.schedule[1];
    expect(row).toMatchObject({ n: 2, dueDate: due });
    const c = await caseOf(row.invoiceId);
    expect(c).toMatchObject({
      origin: 'returned_debit',
      returnReasonCode: 'MD01',
      returnFailureCode: 'debit_not_authorized',
      mayRedebit: false,
    });
    const blocked = c.audit.filter((e) => e.action === 'redebit_blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]?.details).toMatchObject({
      paymentMethod: noMandate.id,
      subscription: subscriptionId,
      cleared: [`subscription:${subscriptionId}`],
      detached: true,
    });

    // At Stripe: the subscription has no default method any more and the method is detached.
    const subscription = await t.stripe.subscriptions.retrieve(subscriptionId);
    expect(subscription.default_payment_method).toBeNull();
    expect((await t.stripe.paymentMethods.retrieve(noMandate.id)).customer).toBeNull();
    const blockedAt = Math.floor(t.clock.now() / 1000);

    // Past all of Stripe's retries (3, 5, 7 days) and the next renewal: Stripe keeps trying the invoice, but
    // no account is debited again.
    const later = addMonths(start, 2, Number(start.slice(8, 10)));
    await advanceDays(t, daysBetween(todayOf(t), later) + 2);
    await settle(t);
    const retried = await t.stripe.invoices.retrieve(row.stripeInvoiceId as string);
    expect(retried.status).toBe('open');
    expect(retried.attempt_count).toBeGreaterThan(1);
    const charges: Stripe.Charge[] = [];
    for await (const charge of t.stripe.charges.list({ customer: buyer.stripeCustomerId, limit: 100 })) {
      charges.push(charge);
    }
    const debitsOfMandate = charges.filter((ch) => ch.payment_method === noMandate.id);
    expect(debitsOfMandate).toHaveLength(1);
    expect(debitsOfMandate[0]).toMatchObject({ status: 'failed', failure_code: 'debit_not_authorized' });
    expect(charges.filter((ch) => ch.created > blockedAt)).toEqual([]);

    // The block is recorded once, however often Stripe's retries report the failure again.
    const after = await caseOf(row.invoiceId);
    expect(after.audit.filter((e) => e.action === 'redebit_blocked')).toHaveLength(1);
    expect(after.mayRedebit).toBe(false);
  });

  it('a reclaimed financing instalment re-opens the claim and takes the mandate off Stripe', {
    timeout: 180_000,
  }, async () => {
    const rate = 150_000;
    // The buyer's only account is one whose holder later reclaims the debit (DE35…).
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_sepaDebit_disputed_de' });
    const start = nextMonthStart(t);
    const created = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Home',
      monthlyRate: rate,
      startDate: start,
      durationMonths: 12,
    });
    expect(created.statusCode).toBe(201);
    const planId = created.json().id as string;
    await advanceThroughMonths(t, start, 1);
    await settle(t);

    const plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    const subscriptionId = plan.stripeSubscriptionId as string;
    // The mandate the instalment was debited from (the one the buyer then reclaimed).
    const debit = (await t.stripe.charges.list({ customer: buyer.stripeCustomerId, limit: 1 })).data[0];
    const reclaiming = { id: debit?.payment_method as string };
    const first = plan.schedule[0];
    const c = await caseOf(first.invoiceId);
    expect(c).toMatchObject({ returnReasonCode: 'MD06', mayRedebit: false });
    const blocked = c.audit.filter((e) => e.action === 'redebit_blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]?.details).toMatchObject({ paymentMethod: reclaiming.id, detached: true });
    expect((await t.stripe.paymentMethods.retrieve(reclaiming.id)).customer).toBeNull();
    expect((await t.stripe.subscriptions.retrieve(subscriptionId)).default_payment_method).toBeNull();
  });
});
