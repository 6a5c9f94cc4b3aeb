import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dunningEventHandlers } from '../../src/dunning/events.ts';
import { runDunning } from '../../src/dunning/scheduler.ts';
import { addDays, type BusinessDate, berlinStartOfDay } from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { days, depsOf, insertBuyer, insertOpenInvoice } from './service-fixtures.ts';

type Dealer = Awaited<ReturnType<TestApp['createDealer']>>;

describe('dunning API: policies, tenancy, Mahnstopp, escalation, returned debits, payment', () => {
  let t: TestApp;
  let deps: ServiceDeps;
  let a: Dealer;
  let b: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    deps = depsOf(t);
    a = await t.createDealer('Reisemobile Nord');
    b = await t.createDealer('Caravan Süd');
  });
  afterAll(() => t.close());

  async function runOn(day: BusinessDate) {
    t.clock.set(berlinStartOfDay(day) + 8 * 3_600_000);
    const result = await runDunning(deps, day);
    await t.app.outbox.drain();
    return result;
  }
  async function caseIdOf(invoiceId: string, auth = a.auth): Promise<string> {
    const list = await t.app.inject({ url: '/api/payments/dunning?limit=100', headers: auth });
    const found = list.json().data.find((c: { invoice: { id: string } }) => c.invoice.id === invoiceId);
    if (!found) throw new Error(`no case for ${invoiceId}`);
    return found.id;
  }
  const post = (url: string, payload: unknown, auth = a.auth) =>
    t.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
  const get = (url: string, auth = a.auth) => t.app.inject({ url, headers: auth });

  it('validates policies: a broken ladder is a 400 naming the field; dealers may not change them', async () => {
    const current = await get('/api/payments/dunning/policies/consumer', t.admin);
    expect(current.statusCode).toBe(200);
    expect(current.json()).toMatchObject({ debtorType: 'consumer', source: 'default' });
    const policy = current.json().policy;

    const broken = structuredClone(policy);
    broken.levels[2].daysAfterDue = 0;
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/api/payments/dunning/policies/consumer',
      headers: t.admin,
      payload: broken,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_dunning_policy');
    expect(bad.json().error.details.map((d: { field: string }) => d.field)).toContain(
      'body.levels.2.daysAfterDue',
    );

    const tooDear = structuredClone(policy);
    tooDear.levels[1].feeCents = 2500;
    const fee = await t.app.inject({
      method: 'PUT',
      url: '/api/payments/dunning/policies/consumer',
      headers: t.admin,
      payload: tooDear,
    });
    expect(fee.statusCode).toBe(400);
    expect(fee.json().error.details).toContainEqual({
      field: 'body.levels.1.feeCents',
      message: 'actual costs only: at most 500 cents',
    });

    const byDealer = await t.app.inject({
      method: 'PUT',
      url: '/api/payments/dunning/policies/consumer',
      headers: a.auth,
      payload: policy,
    });
    expect(byDealer.statusCode).toBe(403);

    const badOverride = await t.app.inject({
      method: 'PUT',
      url: `/api/payments/dunning/policies/consumer/dealers/${b.id}`,
      headers: t.admin,
      payload: { levels: [{ level: 2, feeCents: -1 }] },
    });
    expect(badOverride.statusCode).toBe(400);
    expect(badOverride.json().error.details.map((d: { field: string }) => d.field)).toContain(
      'body.levels.0.feeCents',
    );

    // Dealer B sends only three letters, the last one free of charge.
    const override = await t.app.inject({
      method: 'PUT',
      url: `/api/payments/dunning/policies/consumer/dealers/${b.id}`,
      headers: t.admin,
      payload: { levelCount: 3, levels: [{ level: 3, name: 'Letzte Mahnung', feeCents: 0 }] },
    });
    expect(override.statusCode).toBe(200);
    expect(override.json().effectivePolicy.levels.map((l: { name: string }) => l.name)).toEqual([
      'Zahlungserinnerung',
      '1. Mahnung',
      'Letzte Mahnung',
    ]);
    const effective = await get(`/api/payments/dunning/policies/consumer?dealerId=${b.id}`, t.admin);
    expect(effective.json().effectiveForDealer.policy.levels).toHaveLength(3);
    expect(effective.json().dealerOverrides).toHaveLength(1);

    // A case of dealer B uses that ladder: the third letter is the last one.
    const buyer = await insertBuyer(t, b.id, 'consumer', 'Kurt Kurzleiter');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: b.id,
      buyerId: buyer,
      amount: 100_000,
      dueDate: '2026-01-15' as BusinessDate,
    });
    for (const day of days('2026-01-16' as BusinessDate, '2026-03-10' as BusinessDate)) await runOn(day);
    const c = (await get(`/api/payments/dunning/${await caseIdOf(invoiceId, b.auth)}`, b.auth)).json();
    expect(c.letters.map((l: { levelName: string }) => l.levelName)).toEqual([
      'Zahlungserinnerung',
      '1. Mahnung',
      'Letzte Mahnung',
    ]);
    expect(c.status).toBe('awaiting_decision');
    expect(c.letters[2].fees).toBe(150);
  });

  it('keeps dealers apart: another dealer’s case is a 404 everywhere', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer', 'Greta Geheim');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 250_000,
      dueDate: '2026-02-02' as BusinessDate,
    });
    await runOn('2026-02-10' as BusinessDate);
    const id = await caseIdOf(invoiceId);
    expect((await get(`/api/payments/dunning/${id}`, b.auth)).statusCode).toBe(404);
    expect((await post(`/api/payments/dunning/${id}/pause`, { reason: 'Kulanz' }, b.auth)).statusCode).toBe(
      404,
    );
    expect(
      (await post(`/api/payments/customers/${buyer}/dunning-pause`, { reason: 'Kulanz' }, b.auth)).statusCode,
    ).toBe(404);
    const listB = await get('/api/payments/dunning?limit=100', b.auth);
    expect(listB.json().data.map((c: { id: string }) => c.id)).not.toContain(id);
    const asAdmin = await get(`/api/payments/dunning/${id}`, t.admin);
    expect(asAdmin.statusCode).toBe(200);
    const filtered = await get('/api/payments/dunning?status=open&level=1&limit=100');
    expect(filtered.json().data.map((c: { id: string }) => c.id)).toContain(id);
    expect((await get('/api/payments/dunning?status=paused&limit=100')).json().data).toEqual([]);
  });

  it('pauses and resumes a case and a buyer, escalates after the last letter, every step in the audit trail', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer', 'Hans Hadert');
    const due = '2026-03-02' as BusinessDate;
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 400_000,
      dueDate: due,
    });
    await runOn(addDays(due, 7));
    const id = await caseIdOf(invoiceId);

    const early = await post(`/api/payments/dunning/${id}/escalate`, {
      action: 'collection',
      reason: 'zu früh',
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('dunning_case_not_awaiting_decision');

    const paused = await post(`/api/payments/dunning/${id}/pause`, { reason: 'Käufer reklamiert Markise' });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused', pauseReason: 'Käufer reklamiert Markise' });
    expect((await post(`/api/payments/dunning/${id}/pause`, { reason: 'nochmal' })).statusCode).toBe(409);
    for (const day of days(addDays(due, 8), addDays(due, 30))) await runOn(day);
    let c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c.letters).toHaveLength(1);
    expect(c.nextAction).toMatchObject({ action: 'none', reason: 'paused', on: null });

    await post(`/api/payments/dunning/${id}/resume`, { reason: 'Markise getauscht' });
    // A buyer-wide stop holds this case too, until it is lifted.
    const buyerStop = await post(`/api/payments/customers/${buyer}/dunning-pause`, {
      reason: 'Insolvenzprüfung',
    });
    expect(buyerStop.statusCode).toBe(200);
    expect(buyerStop.json()).toMatchObject({ dunningPaused: true, casesAffected: 1 });
    await runOn(addDays(due, 31));
    c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c).toMatchObject({ status: 'paused', buyerPaused: true });
    expect(c.letters).toHaveLength(1);
    await post(`/api/payments/customers/${buyer}/dunning-resume`, { reason: 'Prüfung abgeschlossen' });

    for (const day of days(addDays(due, 32), addDays(due, 120))) await runOn(day);
    c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c.letters).toHaveLength(4);
    expect(c.status).toBe('awaiting_decision');

    const notInPolicy = await post(`/api/payments/dunning/${id}/escalate`, {
      action: 'call_loan',
      reason: 'x y z',
    });
    expect(notInPolicy.statusCode).toBe(400);
    expect(notInPolicy.json().error.details[0].field).toBe('body.action');

    const handedOver = await post(`/api/payments/dunning/${id}/escalate`, {
      action: 'collection',
      reason: 'Übergabe an Inkasso Muster',
    });
    expect(handedOver.statusCode).toBe(200);
    expect(handedOver.json()).toMatchObject({ status: 'escalated', escalation: 'collection' });
    const actor = `dealer:${a.id}`;
    const trail = handedOver
      .json()
      .audit.filter((e: { actor: string }) => e.actor !== 'system')
      .map((e: { action: string; actor: string; reason: string }) => [e.action, e.actor, e.reason]);
    expect(trail).toEqual([
      ['paused', actor, 'Käufer reklamiert Markise'],
      ['resumed', actor, 'Markise getauscht'],
      ['buyer_paused', actor, 'Insolvenzprüfung'],
      ['buyer_resumed', actor, 'Prüfung abgeschlossen'],
      ['escalated_collection', actor, 'Übergabe an Inkasso Muster'],
    ]);
    expect((await post(`/api/payments/dunning/${id}/pause`, { reason: 'zu spät' })).statusCode).toBe(409);
  });

  it('a returned SEPA instalment opens a case with its reason code; no re-debit after MD06', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer', 'Rita Rücklastschrift');
    const planId = 'fin_test_plan_1';
    const failedPayment = (code: string) =>
      ({
        paymentIntents: {
          retrieve: async () => ({
            id: 'pi_test',
            last_payment_error: { code, type: 'card_error', payment_method: { type: 'sepa_debit' } },
            latest_charge: {
              id: 'py_test',
              failure_code: code,
              payment_method_details: { type: 'sepa_debit' },
            },
          }),
        },
      }) as unknown as Stripe;
    const deliver = async (stripeInvoiceId: string, code: string) => {
      const event = {
        id: `evt_${stripeInvoiceId}`,
        type: 'invoice.payment_failed',
        created: Math.floor(berlinStartOfDay('2026-05-04' as BusinessDate) / 1000) + 36_000,
        data: {
          object: {
            id: stripeInvoiceId,
            metadata: {},
            payments: { data: [{ payment: { type: 'payment_intent', payment_intent: 'pi_test' } }] },
          },
        },
      } as unknown as Stripe.Event;
      await t.database.db.transaction(async (tx) => {
        await dunningEventHandlers['invoice.payment_failed']?.(
          { tx: tx as never, deps: { ...deps, stripe: failedPayment(code) }, invalidate: () => {} },
          event,
        );
      });
    };
    const due = '2026-05-01' as BusinessDate;
    const first = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 185_000,
      dueDate: due,
      kind: 'instalment',
      financingPlanId: planId,
      stripeInvoiceId: 'in_test_instalment_1',
    });
    const second = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 185_000,
      dueDate: addDays(due, 31),
      kind: 'instalment',
      financingPlanId: planId,
      stripeInvoiceId: 'in_test_instalment_2',
    });
    t.clock.set(berlinStartOfDay('2026-05-04' as BusinessDate) + 10 * 3_600_000);
    await deliver('in_test_instalment_1', 'insufficient_funds');
    await deliver('in_test_instalment_2', 'MD06');

    const one = (await get(`/api/payments/dunning/${await caseIdOf(first)}`)).json();
    expect(one).toMatchObject({
      origin: 'returned_debit',
      returnReasonCode: 'AM04',
      mayRedebit: true,
      level: 0,
    });
    expect(one.audit.map((e: { action: string }) => e.action)).toEqual(['opened', 'debit_returned']);
    const two = (await get(`/api/payments/dunning/${await caseIdOf(second)}`)).json();
    expect(two).toMatchObject({ returnReasonCode: 'MD06', mayRedebit: false });

    // The instalment is dunned like any invoice; its letter links the invoice itself, never a second payable.
    await runOn(addDays(due, 7));
    const afterRun = (await get(`/api/payments/dunning/${one.id}`)).json();
    expect(afterRun.letters[0].paymentUrlKind).toBe('hosted_invoice');

    // The loan's terms are read from the plan (loan-call.test.ts), never taken from the request.
    for (const day of days(addDays(due, 8), addDays(due, 70))) await runOn(day);
    expect((await get(`/api/payments/dunning/${one.id}`)).json().letters).toHaveLength(4);
    const call = await post(`/api/payments/dunning/${one.id}/escalate`, {
      action: 'call_loan',
      reason: 'Gesamtfälligstellung',
      loan: { nominalAmount: 6_000_000, termMonths: 48 },
    });
    expect(call.statusCode).toBe(400);
  });

  it('a buyer who pays after the 1. Mahnung gets no 2. Mahnung (invoice.paid from Stripe closes the case)', async () => {
    const created = await post('/api/payments/customers', {
      name: 'Petra Zahlt',
      email: 'petra@example.de',
      address: { line1: 'Seestraße 4', postalCode: '88709', city: 'Meersburg' },
      buyerId: 'B-PAY-1',
      vehicleId: 'VIN-WMO90G000077',
    });
    expect(created.statusCode).toBe(201);
    const invoice = await post('/api/payments/invoices', {
      customerId: created.json().id,
      vehicleId: 'VIN-WMO90G000077',
      kind: 'remainder',
      amount: 7_500_000,
      description: 'Restzahlung MORELO Empire Liner',
      daysUntilDue: 14,
    });
    expect(invoice.statusCode).toBe(201);
    const { id: invoiceId, dueDate, stripeInvoiceId, hostedInvoiceUrl } = invoice.json();
    const due = dueDate as BusinessDate;
    for (const day of days(addDays(due, 1), addDays(due, 21))) await runOn(day);
    const id = await caseIdOf(invoiceId);
    let c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c.letters.map((l: { levelName: string }) => l.levelName)).toEqual([
      'Zahlungserinnerung',
      '1. Mahnung',
    ]);
    expect(c.letters[1].paymentUrl).toBe(hostedInvoiceUrl);

    // The buyer pays; Stripe reports invoice.paid and the case closes at once, before any run.
    await t.stripe.invoices.pay(stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c).toMatchObject({ status: 'closed', closedReason: 'paid' });

    for (const day of days(addDays(due, 22), addDays(due, 60))) await runOn(day);
    c = (await get(`/api/payments/dunning/${id}`)).json();
    expect(c.letters).toHaveLength(2);
    expect(c.audit.at(-1)).toMatchObject({ action: 'closed', actor: 'system', reason: 'paid' });
  });
});
