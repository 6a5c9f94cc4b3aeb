/**
 * A financing plan whose card starts to fail, end to end on the emulator: Stripe retries and then ends
 * the subscription, but the credit contract still runs — the plan keeps owing the rest of the loan. The
 * dunning ladder of the failed instalment ends with the § 498 warning, and calling the loan bills the
 * remaining loan in one invoice, voiding the open instalment, exactly once.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/invoices/schema.ts';
import { addDays, addMonths, daysBetween } from '../../src/platform/dates.ts';
import {
  advanceThroughMonths,
  advanceTo,
  createBuyer,
  type Dealer,
  nextMonthStart,
  postPlan,
  settle,
  todayOf,
} from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf } from './service-fixtures.ts';

const RATE = 450_000;
const MONTHS = 12;

describe('calling the loan of a plan Stripe gave up on', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Ost');
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });
  const callLoan = (caseId: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/payments/dunning/${caseId}/escalate`,
      headers: dealer.auth,
      payload: { action: 'call_loan', reason: 'Gesamtfälligstellung nach § 498 BGB' },
    });

  it('still owes the rest after Stripe stops; the called loan is one invoice for it', {
    timeout: 180_000,
  }, async () => {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const start = nextMonthStart(t);
    const created = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Loft',
      monthlyRate: RATE,
      startDate: start,
      durationMonths: MONTHS,
    });
    expect(created.statusCode).toBe(201);
    const planId = created.json().id as string;

    // The first instalment is collected; then the buyer's card is declined.
    await advanceThroughMonths(t, start, 1);
    await settle(t);
    const subscription = (await get(`/api/payments/subscriptions/${planId}`)).json().stripeSubscriptionId;
    await t.stripe.subscriptions.update(subscription, {
      default_payment_method: 'pm_card_visa_chargeDeclined',
    });

    // The second fails, every retry fails, and Stripe ends the subscription (its default setting).
    const due2 = addMonths(start, 1, Number(start.slice(8, 10)));
    await advanceTo(t, addDays(due2, 20));
    expect((await t.stripe.subscriptions.retrieve(subscription)).status).toBe('canceled');
    let plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    expect(plan).toMatchObject({ status: 'ended_early', endReason: 'payment_failed', paidCount: 1 });
    // The contract is not over: every unpaid instalment is still owed and the payoff is offered.
    expect(plan.remainingCount).toBe(MONTHS - 1);
    expect(plan.payoff).toMatchObject({
      remainingPrincipal: (MONTHS - 1) * RATE,
      total: (MONTHS - 1) * RATE,
    });
    // The dealer's view of the vehicle keeps the whole contract as agreed, one instalment paid.
    const vehicle = (await get(`/api/payments/vehicles/${buyer.vehicleId}`)).json();
    expect(vehicle).toMatchObject({ totalAgreed: MONTHS * RATE, paid: { net: RATE } });
    expect(vehicle.plans).toEqual([
      expect.objectContaining({ id: planId, status: 'ended_early', endReason: 'payment_failed' }),
    ]);
    const second = plan.schedule[1];
    expect(second).toMatchObject({ n: 2, status: 'failed' });

    // The dunning ladder of instalment 2 runs; by its last letter instalment 3 is missed as well, so the
    // last letter is the § 498 warning with a two-week deadline.
    const caseUrl = await caseUrlOf(t, dealer.auth, second.invoiceId);
    let c = (await get(caseUrl)).json();
    for (let day = 0; day < 90 && c.status !== 'awaiting_decision'; day++) {
      await advanceTo(t, addDays(todayOf(t), 1));
      c = (await get(caseUrl)).json();
    }
    expect(c.status).toBe('awaiting_decision');
    const warning = c.letters.at(-1);
    expect(warning).toMatchObject({ level: c.policy.levels.length, status: 'sent' });
    expect(warning.text).toContain('gesamte Restschuld');
    expect(daysBetween(warning.letterDate, warning.deadline)).toBeGreaterThanOrEqual(14);

    plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    // The § 498 grounds hold on the plan itself: two or more instalments in a row, above the threshold.
    expect(plan.termination.canSendWarning).toBe(true);
    expect(plan.termination.consecutiveMissed).toBeGreaterThanOrEqual(2);
    const owed = plan.payoff.total as number;
    expect(owed).toBe((MONTHS - 1) * RATE);

    // The decision: the whole loan falls due, billed in one invoice; the open instalment is voided.
    const called = await callLoan(c.id);
    expect(called.statusCode).toBe(200);
    expect(called.json()).toMatchObject({ escalation: 'call_loan' });
    await settle(t);

    plan = (await get(`/api/payments/subscriptions/${planId}`)).json();
    expect(plan.status).toBe('terminated_early');
    expect(plan.payoffInvoiceId).not.toBeNull();
    const [payoffRow] = await t.database.db
      .select()
      .from(invoices)
      .where(eq(invoices.id, plan.payoffInvoiceId));
    expect(payoffRow).toMatchObject({ kind: 'payoff', amount: owed, status: 'open' });
    const payoffAtStripe = await t.stripe.invoices.retrieve(payoffRow!.stripeInvoiceId as string);
    expect(payoffAtStripe).toMatchObject({
      status: 'open',
      amount_due: owed,
      customer: buyer.stripeCustomerId,
    });
    expect(payoffAtStripe.description).toContain('Gesamtfälligstellung (§ 498 BGB)');
    expect((await t.stripe.invoices.retrieve(second.stripeInvoiceId)).status).toBe('void');
    expect((await get(caseUrl)).json()).toMatchObject({ status: 'closed' });

    // Asking again (as after a failure half-way) finishes nothing twice: the same one invoice.
    const again = await callLoan(c.id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'closed', escalation: 'call_loan' });
    const billed = await t.stripe.invoices.list({ customer: buyer.stripeCustomerId, limit: 100 });
    const payoffs = billed.data.filter((i) => i.description?.includes('Gesamtfälligstellung'));
    expect(payoffs).toHaveLength(1);

    // The buyer pays it: the plan is paid off, and the vehicle owes nothing more.
    await t.stripe.invoices.pay(payoffAtStripe.id, { payment_method: 'pm_card_visa', off_session: false });
    await settle(t);
    expect((await get(`/api/payments/subscriptions/${planId}`)).json().status).toBe('paid_off');
    const settledVehicle = (await get(`/api/payments/vehicles/${buyer.vehicleId}`)).json();
    expect(settledVehicle).toMatchObject({ open: 0, overdue: 0, paid: { net: RATE + owed } });
  });
});
