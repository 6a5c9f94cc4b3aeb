/**
 * § 498 BGB in dunning: the last letter of a financing instalment is the two-week warning (when the grounds
 * hold), and calling the whole loan is judged on the plan itself, not on terms sent with the request.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDunning } from '../../src/dunning/scheduler.ts';
import { financingInstalments } from '../../src/financing/schema.ts';
import { invoices } from '../../src/invoices/schema.ts';
import {
  addDays,
  addMonths,
  type BusinessDate,
  berlinStartOfDay,
  daysBetween,
  formatGermanDate,
} from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { formatEuro } from '../../src/platform/money.ts';
import { createBuyer, type Dealer, nextMonthStart, postPlan } from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf, days, depsOf, insertBuyer, insertOpenInvoice } from './service-fixtures.ts';

const RATE = 450_000;

describe('dunning a financing instalment: the § 498 warning and calling the loan', () => {
  let t: TestApp;
  let deps: ServiceDeps;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp();
    deps = depsOf(t);
    dealer = await t.createDealer('Reisemobile Süd');
  });
  afterAll(() => t.close());

  async function runOn(day: BusinessDate) {
    t.clock.set(berlinStartOfDay(day) + 8 * 3_600_000);
    await runDunning(deps, day);
    await t.app.outbox.drain();
  }
  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });
  const escalate = (caseId: string, payload: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: `/api/payments/dunning/${caseId}/escalate`,
      headers: dealer.auth,
      payload,
    });
  async function caseOf(invoiceId: string) {
    return (await get(await caseUrlOf(t, dealer.auth, invoiceId))).json();
  }

  /** A 12-month plan of RATE (nominal 12 × RATE, so the § 498 threshold is 10 % = 1.2 × RATE). */
  async function plan(start: BusinessDate) {
    const buyer = await createBuyer(t, dealer, { paymentMethod: 'pm_card_visa' });
    const res = await postPlan(t, dealer, {
      customerId: buyer.id,
      vehicleId: buyer.vehicleId,
      vehicleModel: 'Loft',
      monthlyRate: RATE,
      startDate: start,
      durationMonths: 12,
    });
    expect(res.statusCode).toBe(201);
    return { planId: res.json().id as string, buyerId: buyer.id };
  }

  it('warns with two weeks once two instalments are missed, and calls the loan only after them', {
    timeout: 60_000,
  }, async () => {
    const start = nextMonthStart(t);
    const day = Number(start.slice(8, 10));
    // Plan A: nothing is paid. Plan B: the second instalment is paid, so no two consecutive are missed.
    const a = await plan(start);
    const b = await plan(start);
    const instalment = (p: { planId: string; buyerId: string }) =>
      insertOpenInvoice(t, {
        dealerId: dealer.id,
        buyerId: p.buyerId,
        amount: RATE,
        dueDate: start,
        kind: 'instalment',
        financingPlanId: p.planId,
      });
    const invoiceA = await instalment(a);
    const invoiceB = await instalment(b);
    const secondB = await insertOpenInvoice(t, {
      dealerId: dealer.id,
      buyerId: b.buyerId,
      amount: RATE,
      dueDate: addMonths(start, 1, day),
      kind: 'instalment',
      financingPlanId: b.planId,
    });
    await t.database.db
      .update(invoices)
      .set({ status: 'paid', amountPaid: RATE, amountRemaining: 0 })
      .where(eq(invoices.id, secondB));
    await t.database.db.insert(financingInstalments).values({
      invoiceId: secondB,
      planId: b.planId,
      n: 2,
      periodStart: addMonths(start, 1, day),
      createdAt: new Date(t.clock.now()),
    });

    // The ladder up to the day before the last letter's two weeks are over.
    const lastLetterDay = addDays(start, 49);
    for (const d of days(addDays(start, 1), addDays(lastLetterDay, 13))) await runOn(d);

    let caseA = await caseOf(invoiceA);
    // The financing variant of the shipped policy: the last letter gives 14 days, the decision waits for them.
    expect(caseA.policy.levels.at(-1)).toMatchObject({ name: 'Letzte Mahnung', paymentDeadlineDays: 14 });
    expect(caseA.policy.escalation.afterDaysFromLastLevel).toBe(15);
    const lastA = caseA.letters.at(-1);
    expect(lastA).toMatchObject({ level: 4, letterDate: lastLetterDay, status: 'sent' });
    expect(daysBetween(lastLetterDay, lastA.deadline)).toBeGreaterThanOrEqual(14);
    // On the letter day instalments 1 and 2 are overdue: 2 × RATE ≥ 10 % of 12 × RATE.
    expect(lastA.text).toContain(`Raten über insgesamt ${formatEuro(2 * RATE)} rückständig`);
    expect(lastA.text).toContain('gesamte Restschuld');
    expect(lastA.text).toContain(`bis zum ${formatGermanDate(lastA.deadline)}`);
    expect(lastA.text).toContain('einverständliche Regelung');
    const queuedA = caseA.audit.filter((e: { action: string }) => e.action === 'letter_queued').at(-1);
    expect(queuedA.details.loanCallWarning).toEqual({
      arrears: 2 * RATE,
      threshold: Math.ceil(12 * RATE * 0.1),
      consecutiveMissed: 2,
    });
    expect(caseA.status).toBe('open');
    // Earlier letters are ordinary ones.
    for (const l of caseA.letters.slice(0, -1)) expect(l.text).not.toContain('Restschuld');

    const caseB = await caseOf(invoiceB);
    const lastB = caseB.letters.at(-1);
    expect(lastB).toMatchObject({ level: 4, letterDate: lastLetterDay });
    expect(daysBetween(lastLetterDay, lastB.deadline)).toBeGreaterThanOrEqual(14);
    expect(lastB.text).not.toContain('Restschuld');
    expect(lastB.text).toContain('Dies ist unsere letzte Mahnung.');

    // The loan terms are the plan's: the request field is gone.
    const withTerms = await escalate(caseA.id, {
      action: 'call_loan',
      reason: 'Gesamtfälligstellung',
      loan: { nominalAmount: 100, termMonths: 12 },
    });
    expect(withTerms.statusCode).toBe(400);

    // The day after the warning's deadline the ladder is complete and the loan may be called.
    const decisionDay = addDays(lastA.deadline, 1);
    for (const d of days(addDays(lastLetterDay, 14), decisionDay)) await runOn(d);
    caseA = await caseOf(invoiceA);
    expect(caseA.status).toBe('awaiting_decision');
    const called = await escalate(caseA.id, { action: 'call_loan', reason: 'Gesamtfälligstellung' });
    expect(called.statusCode).toBe(200);
    expect(called.json()).toMatchObject({ status: 'escalated', escalation: 'call_loan' });
    const decision = called.json().audit.at(-1);
    expect(decision).toMatchObject({ action: 'escalated_call_loan', reason: 'Gesamtfälligstellung' });
    expect(decision.details).toMatchObject({
      financingPlanId: a.planId,
      warningSentOn: lastLetterDay,
      warningDeadline: lastA.deadline,
      consecutiveMissed: 3,
      arrears: 3 * RATE,
      thresholdPercent: 10,
    });

    // Plan B: instalments 1 and 3 are overdue, but not two in a row, and no warning went out.
    const refused = await escalate(caseB.id, { action: 'call_loan', reason: 'Gesamtfälligstellung' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('loan_call_not_allowed');
    expect(refused.json().error.details.map((d: { message: string }) => d.message)).toEqual([
      '1 consecutive instalment(s) in arrears; at least 2 are needed',
      'no warning with a two-week deadline has been sent',
    ]);
    expect((await caseOf(invoiceB)).status).toBe('awaiting_decision');

    // A plan that has ended has no loan left to call, whatever its arrears.
    const canceled = await t.app.inject({
      method: 'POST',
      url: `/api/payments/subscriptions/${b.planId}/cancel`,
      headers: dealer.auth,
      payload: { reason: 'Fahrzeug zurückgegeben' },
    });
    expect(canceled.statusCode).toBe(200);
    const ended = await escalate(caseB.id, { action: 'call_loan', reason: 'Gesamtfälligstellung' });
    expect(ended.statusCode).toBe(409);
    expect(ended.json().error.code).toBe('plan_ended');
    expect((await caseOf(invoiceB)).status).toBe('awaiting_decision');
  });

  it('refuses call_loan for an invoice that is not a financing instalment', async () => {
    const start = addDays(nextMonthStart(t), 120);
    const buyerId = await insertBuyer(t, dealer.id, 'consumer');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: dealer.id,
      buyerId,
      amount: RATE,
      dueDate: start,
    });
    for (const d of days(addDays(start, 1), addDays(start, 70))) await runOn(d);
    const c = await caseOf(invoiceId);
    expect(c.status).toBe('awaiting_decision');
    // Not a financing invoice: the shipped 10 days stand.
    expect(c.policy.levels.at(-1).paymentDeadlineDays).toBe(10);
    const res = await escalate(c.id, { action: 'call_loan', reason: 'Gesamtfälligstellung' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0]).toMatchObject({ field: 'body.action' });
  });
});
