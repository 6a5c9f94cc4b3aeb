/**
 * A settled SEPA debit the consumer reclaims (§ 675x (4) BGB) end to end on the emulator: the invoice is paid
 * by the IBAN that "succeeds then is disputed" (DE35…) through the real event path, the reclaim
 * (charge.dispute.created) re-opens the claim as a dunning case (MD06, the reclaimed amount, no new debit),
 * the ladder writes its letter with a Payment Link for that amount, the buyer pays the link, the case closes
 * as paid and the ledger holds one reversal and one repayment.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BusinessDate, daysBetween } from '../../src/platform/dates.ts';
import { advanceDays, createBuyer, type Dealer, settle, todayOf } from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf } from './service-fixtures.ts';

interface LetterView {
  level: number;
  letterDate: string;
  openAmount: number;
  paymentUrl: string | null;
  paymentUrlKind: string | null;
  status: string;
}

interface CaseView {
  id: string;
  status: string;
  stage: string;
  origin: string;
  openAmount: number;
  returnReasonCode: string | null;
  mayRedebit: boolean;
  closedReason: string | null;
  nextAction: { action: string; on: string | null };
  invoice: { id: string; status: string };
  letters: LetterView[];
  audit: { action: string; reason: string | null; details: Record<string, unknown> | null }[];
}

const RECLAIMED_IBAN = 'DE35370400440532013002';
const AMOUNT = 850_000;

describe('a reclaimed SEPA debit on the emulator', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Süd');
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });
  async function caseOf(invoiceId: string): Promise<CaseView> {
    return (await get(await caseUrlOf(t, dealer.auth, invoiceId))).json();
  }

  it('re-opens the claim: a case with MD06 and the reclaimed amount, one letter, paid by its link', {
    timeout: 120_000,
  }, async () => {
    const buyer = await createBuyer(t, dealer);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: dealer.auth,
      payload: {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        kind: 'remainder',
        amount: AMOUNT,
        description: 'Restzahlung Reisemobil',
        daysUntilDue: 14,
      },
    });
    expect(created.statusCode).toBe(201);
    const { id: invoiceId, stripeInvoiceId } = created.json() as { id: string; stripeInvoiceId: string };

    // Paid by a SEPA debit from the IBAN whose debit succeeds and is then reclaimed.
    const method = await t.stripe.paymentMethods.create({
      type: 'sepa_debit',
      sepa_debit: { iban: RECLAIMED_IBAN },
      billing_details: { name: 'Käufer Rückforderung', email: 'rueck@example.de' },
    });
    await t.stripe.paymentMethods.attach(method.id, { customer: buyer.stripeCustomerId });
    const paying = await t.stripe.invoices.pay(stripeInvoiceId, { payment_method: method.id });
    expect(paying.status).toBe('open');
    await settle(t);

    // The bank settles the debit 60 s later, then the buyer reclaims it; a day on, every event is applied.
    await advanceDays(t, 1);
    await settle(t);
    expect((await t.stripe.invoices.retrieve(stripeInvoiceId)).status).toBe('paid');
    expect((await get(`/api/payments/invoices/${invoiceId}`)).json()).toMatchObject({ status: 'paid' });

    const opened = await caseOf(invoiceId);
    expect(opened).toMatchObject({
      status: 'open',
      stage: 'dunning',
      origin: 'returned_debit',
      openAmount: AMOUNT,
      returnReasonCode: 'MD06',
      mayRedebit: false,
      invoice: { id: invoiceId, status: 'paid' },
      letters: [],
    });
    const reclaimed = opened.audit.filter((e) => e.action === 'debit_reclaimed');
    expect(reclaimed).toHaveLength(1);
    expect(reclaimed[0]?.details).toMatchObject({ amount: AMOUNT, reasonCode: 'MD06', mayRedebit: false });
    expect(opened.nextAction.action).toBe('send_letter');

    // The first letter on its day: it asks for the reclaimed amount, with a Payment Link for it.
    const letterDay = opened.nextAction.on as BusinessDate;
    await advanceDays(t, daysBetween(todayOf(t), letterDay));
    await settle(t);
    const dunned = await caseOf(invoiceId);
    expect(dunned.letters).toHaveLength(1);
    const letter = dunned.letters[0] as LetterView;
    expect(letter).toMatchObject({
      level: 1,
      letterDate: letterDay,
      openAmount: AMOUNT,
      paymentUrlKind: 'payment_link',
      status: 'sent',
    });
    const links: Stripe.PaymentLink[] = [];
    for await (const l of t.stripe.paymentLinks.list({ limit: 100 })) links.push(l);
    const link = links.find((l) => l.url === letter.paymentUrl);
    expect(link?.metadata).toMatchObject({ moreloInvoiceId: invoiceId, moreloDunningCaseId: dunned.id });
    const items = await t.stripe.paymentLinks.listLineItems(link?.id ?? '');
    expect(items.data[0]?.amount_total).toBe(AMOUNT);

    // The buyer pays the letter's link by card.
    const res = await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
      body: JSON.stringify({ link: link?.id, outcome: 'card' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { error: unknown }).error).toBeNull();
    await settle(t);

    const closed = await caseOf(invoiceId);
    expect(closed).toMatchObject({ status: 'closed', stage: 'closed', closedReason: 'paid', openAmount: 0 });

    // The vehicle: the debit, its reversal and the repayment — net paid is the invoice amount again.
    const vehicle = (await get(`/api/payments/vehicles/${buyer.vehicleId}`)).json();
    expect(vehicle.paid).toMatchObject({ settled: 2 * AMOUNT, reversed: -AMOUNT, net: AMOUNT });
    const history = vehicle.history as { kind: string; amount: number; effect: string; settlement: string }[];
    expect(history.filter((h) => h.amount < 0)).toEqual([
      expect.objectContaining({ kind: 'returned_debit', amount: -AMOUNT, effect: 'dispute' }),
    ]);
    expect(history.filter((h) => h.amount > 0)).toEqual([
      expect.objectContaining({ kind: 'remainder', amount: AMOUNT, settlement: 'settled' }),
      expect.objectContaining({ kind: 'remainder', amount: AMOUNT, settlement: 'settled' }),
    ]);

    // Past the next letter's day: nothing more is written.
    await advanceDays(t, 30);
    await settle(t);
    const later = await caseOf(invoiceId);
    expect(later.letters).toHaveLength(1);
    expect(later.status).toBe('closed');
  });
});
