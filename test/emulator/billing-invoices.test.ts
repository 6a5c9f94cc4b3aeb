/** Invoices, invoice items, bank transfer and hosted pages through the official SDK. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, Receiver, startHarness } from './helpers.ts';

const START = 1_800_000_000;
const DAY = 86_400;
let h: Harness;
let receiver: Receiver;
let secret: string;

beforeAll(async () => {
  h = await startHarness({ startTime: START, webhookRetryDelaysMs: [50] });
  receiver = await new Receiver().start();
  const endpoint = await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
  secret = endpoint.secret!;
});
afterAll(async () => {
  await receiver.stop();
  await h.emu.close();
});
beforeEach(() => {
  receiver.received.length = 0;
});

async function caught(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

/** Event types received for one object id, in order, each verified against its signature. */
async function eventsFor(id: string): Promise<string[]> {
  await h.emu.drainWebhooks();
  return receiver.received
    .map((r) => h.stripe.webhooks.constructEvent(r.body, r.signature, secret))
    .filter((e) => (e.data.object as { id?: string }).id === id)
    .map((e) => e.type);
}

async function customer(params: Stripe.CustomerCreateParams = {}) {
  return h.stripe.customers.create({ name: 'Anna Berg', email: 'anna@example.de', ...params });
}

describe('send_invoice lifecycle', () => {
  it('draft → items → send → paid out of band, with exact events and numbering', async () => {
    const c = await customer({ invoice_prefix: 'MOR' });
    const draft = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 14,
      description: 'Restzahlung Palace 90G',
      metadata: { contract: 'K-1' },
    });
    expect(draft).toMatchObject({ status: 'draft', number: null, hosted_invoice_url: null, amount_due: 0 });
    expect(draft).not.toHaveProperty('payment_intent');
    expect(draft).not.toHaveProperty('paid');

    await h.stripe.invoiceItems.create({
      customer: c.id,
      invoice: draft.id,
      amount: 12_000_000,
      currency: 'eur',
    });
    const sent = await h.stripe.invoices.sendInvoice(draft.id);
    expect(sent).toMatchObject({
      status: 'open',
      number: 'MOR-0001',
      amount_due: 12_000_000,
      amount_remaining: 12_000_000,
    });
    expect(sent.due_date).toBe(sent.status_transitions.finalized_at! + 14 * DAY);
    expect(sent.hosted_invoice_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/i\/in_/);

    const err = await caught(
      h.stripe.invoiceItems.create({ customer: c.id, invoice: draft.id, amount: 100, currency: 'eur' }),
    );
    expect(err.statusCode).toBe(400);

    const paid = await h.stripe.invoices.pay(draft.id, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 12_000_000, amount_remaining: 0 });
    expect(await eventsFor(draft.id)).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.sent',
      'invoice.paid',
    ]);

    const second = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      due_date: START + 100 * DAY,
    });
    await h.stripe.invoiceItems.create({ customer: c.id, invoice: second.id, amount: 500, currency: 'eur' });
    expect((await h.stripe.invoices.finalizeInvoice(second.id)).number).toBe('MOR-0002');
  });

  it('answers Stripe 400s for due-date rules', async () => {
    const c = await customer();
    expect(
      (await caught(h.stripe.invoices.create({ customer: c.id, collection_method: 'send_invoice' })))
        .statusCode,
    ).toBe(400);
    expect((await caught(h.stripe.invoices.create({ customer: c.id, days_until_due: 14 }))).statusCode).toBe(
      400,
    );
    const unknown = await caught(
      h.stripe.invoices.create({ customer: c.id, bogus: 1 } as Stripe.InvoiceCreateParams),
    );
    expect(unknown.code).toBe('parameter_unknown');
  });

  it('void and uncollectible are terminal; a €0 invoice is paid at finalization', async () => {
    const c = await customer();
    const a = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 7,
    });
    await h.stripe.invoiceItems.create({ customer: c.id, invoice: a.id, amount: 1000, currency: 'eur' });
    await h.stripe.invoices.finalizeInvoice(a.id);
    expect((await h.stripe.invoices.voidInvoice(a.id)).status).toBe('void');
    expect((await caught(h.stripe.invoices.pay(a.id, { paid_out_of_band: true }))).statusCode).toBe(400);
    expect(await eventsFor(a.id)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.voided']);

    const b = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 7,
    });
    await h.stripe.invoiceItems.create({ customer: c.id, invoice: b.id, amount: 1000, currency: 'eur' });
    await h.stripe.invoices.finalizeInvoice(b.id);
    expect((await h.stripe.invoices.markUncollectible(b.id)).status).toBe('uncollectible');

    const zero = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 7,
    });
    const z = await h.stripe.invoices.finalizeInvoice(zero.id);
    expect(z.status).toBe('paid');
    expect(await eventsFor(zero.id)).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
  });

  it('pending items go to the next invoice only with pending_invoice_items_behavior=include', async () => {
    const c = await customer();
    const item = await h.stripe.invoiceItems.create({ customer: c.id, amount: 2500, currency: 'eur' });
    const excluded = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 7,
    });
    expect(excluded.lines.data).toHaveLength(0);
    const included = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 7,
      pending_invoice_items_behavior: 'include',
    });
    expect(included.amount_due).toBe(2500);
    expect((await h.stripe.invoiceItems.retrieve(item.id)).invoice).toBe(included.id);
    expect((await h.stripe.invoices.list({ customer: c.id, status: 'draft' })).data).toHaveLength(2);
  });
});

describe('charge_automatically', () => {
  it('pays with pm_card_visa: invoice.paid, invoice.payment_succeeded, invoice_payment.paid', async () => {
    const c = await customer();
    const inv = await h.stripe.invoices.create({ customer: c.id });
    await h.stripe.invoiceItems.create({
      customer: c.id,
      invoice: inv.id,
      amount: 5_000_00,
      currency: 'eur',
    });
    await h.stripe.invoices.finalizeInvoice(inv.id);
    const paid = await h.stripe.invoices.pay(inv.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 5_000_00, amount_remaining: 0 });
    const withPayments = await h.stripe.invoices.retrieve(inv.id, { expand: ['payments'] });
    const payment = withPayments.payments!.data[0]!;
    expect(payment).toMatchObject({ status: 'paid', amount_paid: 5_000_00 });
    expect(payment.payment.payment_intent).toMatch(/^pi_/);
    const types = await eventsFor(inv.id);
    expect(types).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    expect(await eventsFor(payment.id)).toEqual(['invoice_payment.paid']);
  });

  it('a declined card is a 402 and the invoice stays open with payment_failed', async () => {
    const c = await customer();
    const inv = await h.stripe.invoices.create({ customer: c.id });
    await h.stripe.invoiceItems.create({ customer: c.id, invoice: inv.id, amount: 1000, currency: 'eur' });
    await h.stripe.invoices.finalizeInvoice(inv.id);
    const err = await caught(
      h.stripe.invoices.pay(inv.id, { payment_method: 'pm_card_visa_chargeDeclined' }),
    );
    expect(err.statusCode).toBe(402);
    expect(err.type).toBe('StripeCardError');
    const after = await h.stripe.invoices.retrieve(inv.id);
    expect(after).toMatchObject({ status: 'open', attempt_count: 1, amount_paid: 0 });
    expect(await eventsFor(inv.id)).toContain('invoice.payment_failed');
  });
});

describe('bank transfer', () => {
  it('shows an IBAN and fundCashBalance pays the invoice (partial funding leaves it open)', async () => {
    const c = await customer();
    const fi = await h.stripe.customers.createFundingInstructions(c.id, {
      funding_type: 'bank_transfer',
      bank_transfer: { type: 'eu_bank_transfer', eu_bank_transfer: { country: 'DE' } },
      currency: 'eur',
    });
    const iban = fi.bank_transfer.financial_addresses[0]!.iban!.iban;
    expect(iban).toMatch(/^DE\d{20}$/);

    const inv = await h.stripe.invoices.create({
      customer: c.id,
      collection_method: 'send_invoice',
      days_until_due: 14,
      payment_settings: { payment_method_types: ['customer_balance'] },
    });
    await h.stripe.invoiceItems.create({
      customer: c.id,
      invoice: inv.id,
      amount: 150_000_00,
      currency: 'eur',
    });
    const open = await h.stripe.invoices.sendInvoice(inv.id);
    const page = await fetch(open.hosted_invoice_url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(iban.slice(0, 4));
    const pdf = Buffer.from(await (await fetch(open.invoice_pdf!)).arrayBuffer());
    expect(pdf.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');

    await h.stripe.testHelpers.customers.fundCashBalance(c.id, { amount: 50_000_00, currency: 'eur' });
    expect((await h.stripe.invoices.retrieve(inv.id)).status).toBe('open');
    await h.stripe.testHelpers.customers.fundCashBalance(c.id, {
      amount: 100_000_00,
      currency: 'eur',
      reference: open.number!,
    });
    const paid = await h.stripe.invoices.retrieve(inv.id);
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 150_000_00, amount_remaining: 0 });
    const balance = await h.stripe.customers.retrieveCashBalance(c.id);
    expect(balance.available).toEqual({ eur: 0 });
    const txns = await h.stripe.customers.listCashBalanceTransactions(c.id);
    expect(txns.data.map((t) => t.type)).toEqual(['applied_to_payment', 'funded', 'funded']);
    expect(await eventsFor(inv.id)).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.sent',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
  });
});
