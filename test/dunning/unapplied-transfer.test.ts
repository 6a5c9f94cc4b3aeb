/**
 * A buyer wires part of a remainder: Stripe keeps the money in the buyer's cash balance, matched to no
 * invoice (it applies a transfer only when it covers the invoice). The dealer sees the money on the buyer,
 * dunning holds its letters for two weeks so someone can match it, then goes on; once the rest arrives the
 * invoice is paid and the case closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNAPPLIED_TRANSFER_HOLD_DAYS } from '../../src/dunning/service.ts';
import { addDays } from '../../src/platform/dates.ts';
import { advanceTo, createBuyer, type Dealer, settle, todayOf } from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { caseUrlOf } from './service-fixtures.ts';

const AMOUNT = 2_000_000;
const FIRST_TRANSFER = 1_500_000;

describe('a bank transfer Stripe could not match to the invoice', () => {
  let t: TestApp;
  let dealer: Dealer;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Mitte');
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ url, headers: dealer.auth });

  it('shows the money on the buyer, holds the letters for two weeks, and closes the case when the rest arrives', {
    timeout: 60_000,
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
        description: 'Restzahlung MORELO Palace 90G',
      },
    });
    expect(created.statusCode).toBe(201);
    const invoice = created.json();
    await settle(t);

    // Three days after the due date a case is open; three quarters arrive with the invoice number as
    // reference: too little for Stripe to apply.
    const arrived = addDays(invoice.dueDate, 3);
    await advanceTo(t, arrived);
    const caseUrl = await caseUrlOf(t, dealer.auth, invoice.id);
    const vehicleUrl = `/api/payments/vehicles/${buyer.vehicleId}`;
    expect((await get(vehicleUrl)).json()).toMatchObject({ open: AMOUNT, unappliedTransfer: 0 });
    await t.stripe.testHelpers.customers.fundCashBalance(buyer.stripeCustomerId, {
      amount: FIRST_TRANSFER,
      currency: 'eur',
      reference: invoice.number,
    });
    await settle(t);
    expect((await t.stripe.invoices.retrieve(invoice.stripeInvoiceId)).status).toBe('open');
    expect((await get(`/api/payments/customers/${buyer.id}`)).json()).toMatchObject({
      unappliedTransfer: FIRST_TRANSFER,
    });
    // Before handing over the vehicle the dealer sees it: received, not yet matched, the invoice still open.
    // (The cached account from a moment ago is invalidated by the cash-balance event.)
    expect((await get(vehicleUrl)).json()).toMatchObject({
      open: AMOUNT,
      unappliedTransfer: FIRST_TRANSFER,
      paid: { net: 0 },
    });

    // The Zahlungserinnerung's day (7 days after due) passes without a letter while the money waits.
    const lastHeldDay = addDays(arrived, UNAPPLIED_TRANSFER_HOLD_DAYS - 1);
    await advanceTo(t, lastHeldDay);
    let c = (await get(caseUrl)).json();
    expect(c).toMatchObject({
      status: 'open',
      unappliedTransfer: FIRST_TRANSFER,
      nextAction: { action: 'none', reason: 'unapplied_transfer' },
    });
    expect(c.letters).toEqual([]);
    expect(c.audit.map((a: { action: string }) => a.action)).toContain('held_unapplied_transfer');

    // Nobody matched it within the hold: the ladder goes on (a token transfer cannot stop dunning for good).
    await advanceTo(t, addDays(lastHeldDay, 1));
    c = (await get(caseUrl)).json();
    expect(c.letters).toHaveLength(1);
    expect(c.letters[0]).toMatchObject({ level: 1, letterDate: addDays(lastHeldDay, 1) });
    // The letter tells the buyer the money arrived and asks only for the rest.
    expect(c.letters[0].text).toContain('Überweisung über 15.000,00 € eingegangen');
    expect(c.letters[0].text).toContain('abzüglich der eingegangenen 15.000,00 €, also 5.000,00 €');

    // The rest arrives: Stripe applies the whole balance to the invoice, nothing is left unmatched.
    await t.stripe.testHelpers.customers.fundCashBalance(buyer.stripeCustomerId, {
      amount: AMOUNT - FIRST_TRANSFER,
      currency: 'eur',
      reference: invoice.number,
    });
    await settle(t);
    await advanceTo(t, addDays(todayOf(t), 1));
    expect((await t.stripe.invoices.retrieve(invoice.stripeInvoiceId)).status).toBe('paid');
    expect((await get(`/api/payments/customers/${buyer.id}`)).json()).toMatchObject({ unappliedTransfer: 0 });
    // Whether the payment or the emptied balance is applied first, the closed case ends at 0 too.
    c = (await get(caseUrl)).json();
    expect(c).toMatchObject({ status: 'closed', closedReason: 'paid', unappliedTransfer: 0 });
    expect(c.letters).toHaveLength(1);
    const vehicle = (await get(`/api/payments/vehicles/${buyer.vehicleId}`)).json();
    expect(vehicle).toMatchObject({ open: 0, paid: { net: AMOUNT } });
  });
});
