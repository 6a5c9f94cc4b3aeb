/**
 * A buyer wires part of a remainder: Stripe keeps the money in the buyer's cash balance, matched to no
 * invoice (it applies a transfer only when it covers the invoice). The dealer sees the money on the buyer,
 * dunning sends no letter demanding the full amount, and once the rest arrives the invoice is paid and the
 * case closes without a single letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../src/platform/dates.ts';
import { advanceTo, createBuyer, type Dealer, settle, todayOf } from '../financing/plan-helpers.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

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

  it('shows the money on the buyer, holds the letters, and closes the case when the rest arrives', {
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

    // Three quarters arrive with the invoice number as reference: too little for Stripe to apply.
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

    // Weeks past the due date: a case is open, but no letter goes out while the money waits unmatched.
    await advanceTo(t, addDays(invoice.dueDate, 40));
    const list = (await get('/api/payments/dunning?limit=100')).json();
    const summary = list.data.find((c: { invoice: { id: string } }) => c.invoice.id === invoice.id);
    expect(summary).toBeDefined();
    const caseUrl = `/api/payments/dunning/${summary.id}`;
    let c = (await get(caseUrl)).json();
    expect(c).toMatchObject({
      status: 'open',
      unappliedTransfer: FIRST_TRANSFER,
      nextAction: { action: 'none', reason: 'unapplied_transfer' },
    });
    expect(c.letters).toEqual([]);

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
    c = (await get(caseUrl)).json();
    expect(c).toMatchObject({ status: 'closed', closedReason: 'paid', unappliedTransfer: 0 });
    expect(c.letters).toEqual([]);
    expect(c.audit.map((a: { action: string }) => a.action)).toContain('released_unapplied_transfer');
    const vehicle = (await get(`/api/payments/vehicles/${buyer.vehicleId}`)).json();
    expect(vehicle).toMatchObject({ open: 0, paid: { net: AMOUNT } });
  });
});
