import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('POST /api/payments/invoices', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;
  let consumer: { id: string; stripeCustomerId: string };
  let business: { id: string; stripeCustomerId: string };

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Rhein');
    const create = async (payload: Record<string, unknown>) =>
      (
        await t.app.inject({ method: 'POST', url: '/api/payments/customers', headers: dealer.auth, payload })
      ).json();
    consumer = await create({
      name: 'Erika Mustermann',
      email: 'erika@example.de',
      address: 'Heidestraße 17, 51147 Köln',
      buyerId: 'B-1',
      vehicleId: 'VIN-1',
    });
    business = await create({
      name: 'Camping Müller GmbH',
      email: 'buchhaltung@camping-mueller.de',
      address: 'Industriestraße 5, 70565 Stuttgart',
      buyerId: 'B-2',
      vehicleId: 'VIN-2',
      type: 'business',
      vatId: 'DE811111111',
    });
  });
  afterAll(() => t.close());

  const post = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: { ...dealer.auth, ...headers },
      payload,
    });

  it('creates, fills and sends a down-payment invoice due in 14 days', async () => {
    const res = await post({
      customerId: consumer.id,
      vehicleId: 'VIN-1',
      kind: 'down_payment',
      amount: 2_500_000,
      description: 'MORELO Palace 90G',
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ status: 'open', amountDue: 2_500_000, kind: 'down_payment' });
    expect(body.number).toBeTruthy();
    expect(body.hostedInvoiceUrl).toMatch(/^http/);

    const invoice = await t.stripe.invoices.retrieve(body.stripeInvoiceId);
    expect(invoice.status).toBe('open');
    expect(invoice.collection_method).toBe('send_invoice');
    expect(invoice.amount_due).toBe(2_500_000);
    expect(invoice.customer).toBe(consumer.stripeCustomerId);
    expect(invoice.metadata).toMatchObject({
      kind: 'down_payment',
      vehicleId: 'VIN-1',
      moreloInvoiceId: body.id,
    });
    // Above the SEPA debit limit: bank transfer and card only.
    expect(invoice.payment_settings.payment_method_types).toEqual(['customer_balance', 'card']);
    // Consumers are told when default begins (§ 286 (3) BGB).
    expect(invoice.footer).toContain('§ 286 Abs. 3 BGB');
    // Due 14 days after issue, as a Berlin calendar date.
    const issued = new Date(t.clock.now());
    const due = new Date(`${body.dueDate}T12:00:00Z`);
    expect(Math.round((due.getTime() - issued.getTime()) / 86_400_000)).toBe(14);
  });

  it('offers SEPA debit below the limit and leaves the § 286 notice off business invoices', async () => {
    const res = await post({
      customerId: business.id,
      vehicleId: 'VIN-2',
      kind: 'other',
      amount: 49_900,
      description: 'Zubehör: Markise',
      daysUntilDue: 30,
    });
    expect(res.statusCode).toBe(201);
    const invoice = await t.stripe.invoices.retrieve(res.json().stripeInvoiceId);
    expect(invoice.payment_settings.payment_method_types).toContain('sepa_debit');
    expect(invoice.footer ?? '').not.toContain('§ 286');
  });

  it('a retry with the same Idempotency-Key does not send a second invoice', async () => {
    const payload = {
      customerId: consumer.id,
      vehicleId: 'VIN-1',
      kind: 'remainder',
      amount: 12_000_000,
      description: 'Restzahlung Palace 90G',
    };
    const first = await post(payload, { 'idempotency-key': 'rest-VIN-1' });
    const second = await post(payload, { 'idempotency-key': 'rest-VIN-1' });
    expect(second.json().id).toBe(first.json().id);
    const all = await t.stripe.invoices.list({ customer: consumer.stripeCustomerId, limit: 100 });
    expect(all.data.filter((i) => i.metadata?.kind === 'remainder')).toHaveLength(1);
  });

  it('rejects bad input with 400 naming the field and creates nothing at Stripe', async () => {
    const before = (await t.stripe.invoices.list({ limit: 100 })).data.length;
    for (const [payload, field] of [
      [
        { customerId: consumer.id, vehicleId: 'V', kind: 'down_payment', amount: 0, description: 'x' },
        'body.amount',
      ],
      [
        { customerId: consumer.id, vehicleId: 'V', kind: 'down_payment', amount: 10.5, description: 'x' },
        'body.amount',
      ],
      [{ customerId: consumer.id, vehicleId: 'V', kind: 'gift', amount: 100, description: 'x' }, 'body.kind'],
      [
        { customerId: 'byr_nope', vehicleId: 'V', kind: 'down_payment', amount: 100, description: 'x' },
        'body.customerId',
      ],
      [{ vehicleId: 'V', kind: 'down_payment', amount: 100, description: 'x' }, 'body.customerId'],
    ] as const) {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json().error.details)).toContain(field);
    }
    expect((await t.stripe.invoices.list({ limit: 100 })).data.length).toBe(before);
  });

  it('another dealer cannot invoice this dealer’s buyer', async () => {
    const other = await t.createDealer('Fremd GmbH');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: other.auth,
      payload: { customerId: consumer.id, vehicleId: 'VIN-1', kind: 'other', amount: 100, description: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('Erika');
  });

  it('a paid invoice shows as paid on the next read, in the ledger and on the vehicle', async () => {
    const created = (
      await post({
        customerId: consumer.id,
        vehicleId: 'VIN-9',
        kind: 'down_payment',
        amount: 500_000,
        description: 'Anzahlung Loft',
      })
    ).json();
    const before = await t.app.inject({ url: `/api/payments/invoices/${created.id}`, headers: dealer.auth });
    expect(before.json().status).toBe('open');

    await t.stripe.invoices.pay(created.stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();

    const after = await t.app.inject({ url: `/api/payments/invoices/${created.id}`, headers: dealer.auth });
    expect(after.json()).toMatchObject({ status: 'paid', amountPaid: 500_000, amountRemaining: 0 });
    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-9', headers: dealer.auth })
    ).json();
    expect(vehicle).toMatchObject({ totalAgreed: 500_000, open: 0, overdue: 0, paid: { settled: 500_000 } });
    expect(vehicle.history).toHaveLength(1);

    const detail = (
      await t.app.inject({ url: `/api/payments/customers/${consumer.id}`, headers: dealer.auth })
    ).json();
    expect(detail.invoices.find((i: { id: string }) => i.id === created.id).status).toBe('paid');
  });

  it('a remainder of 180.000 € is paid by bank transfer to the invoice’s virtual IBAN', async () => {
    const created = (
      await post({
        customerId: consumer.id,
        vehicleId: 'VIN-EMPIRE',
        kind: 'remainder',
        amount: 18_000_000,
        description: 'Restzahlung Empire Liner',
      })
    ).json();
    expect(created.paymentMethodTypes).toEqual(['customer_balance', 'card']);
    const page = await fetch(created.hostedInvoiceUrl);
    expect(await page.text()).toMatch(/DE\d{2}[\d ]{10,}/); // the virtual IBAN to transfer to

    // The buyer's bank transfer arrives at Stripe with the invoice number as reference.
    await t.stripe.testHelpers.customers.fundCashBalance(consumer.stripeCustomerId, {
      amount: 18_000_000,
      currency: 'eur',
      reference: created.number,
    });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();

    const after = await t.app.inject({ url: `/api/payments/invoices/${created.id}`, headers: dealer.auth });
    expect(after.json()).toMatchObject({ status: 'paid', amountPaid: 18_000_000 });
    expect((await t.stripe.invoices.retrieve(created.stripeInvoiceId)).status).toBe('paid');
    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-EMPIRE', headers: dealer.auth })
    ).json();
    expect(vehicle).toMatchObject({
      totalAgreed: 18_000_000,
      open: 0,
      paid: { settled: 18_000_000, processing: 0 },
    });
  });

  it('a debit that fails and a second attempt that succeeds count once, as settled', async () => {
    const created = (
      await post({
        customerId: consumer.id,
        vehicleId: 'VIN-RETRY',
        kind: 'other',
        amount: 500_000,
        description: 'Zubehör',
      })
    ).json();
    const sepa = async (iban: string) => {
      const pm = await t.stripe.paymentMethods.create({
        type: 'sepa_debit',
        sepa_debit: { iban },
        billing_details: { name: 'Erika Mustermann', email: 'erika@example.de' },
      });
      await t.stripe.paymentMethods.attach(pm.id, { customer: consumer.stripeCustomerId });
      return pm.id;
    };
    const settle = async () => {
      await t.app.inject({
        method: 'POST',
        url: '/api/dev/advance-time',
        headers: t.admin,
        payload: { days: 1 },
      });
      await t.emulator.drainWebhooks();
      await t.app.inbox.drain();
    };
    await t.stripe.invoices
      .pay(created.stripeInvoiceId, { payment_method: await sepa('DE62370400440532013001') })
      .catch(() => {});
    await settle();
    let vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-RETRY', headers: dealer.auth })
    ).json();
    expect(vehicle.paid).toMatchObject({ settled: 0, processing: 0 });
    expect(vehicle.open).toBe(500_000);

    await t.stripe.invoices.pay(created.stripeInvoiceId, {
      payment_method: await sepa('DE89370400440532013000'),
    });
    await settle();
    expect((await t.stripe.invoices.retrieve(created.stripeInvoiceId)).status).toBe('paid');
    vehicle = (await t.app.inject({ url: '/api/payments/vehicles/VIN-RETRY', headers: dealer.auth })).json();
    expect(vehicle.paid).toMatchObject({ settled: 500_000, processing: 0, net: 500_000 });
    expect(vehicle.open).toBe(0);
    expect(vehicle.history.filter((h: { settlement: string }) => h.settlement === 'settled')).toHaveLength(1);
  });

  it('a Stripe outage mid-way: 503, a retry with the key resumes the same invoice, an abandoned one is closed', async () => {
    const original = t.stripe.invoices.sendInvoice.bind(t.stripe.invoices);
    t.stripe.invoices.sendInvoice = (async () => {
      throw new Stripe.errors.StripeConnectionError({ message: 'connection reset' });
    }) as unknown as typeof original;
    const payload = {
      customerId: consumer.id,
      vehicleId: 'VIN-OUT',
      kind: 'other',
      amount: 70_000,
      description: 'Markise',
    };
    try {
      const failed = await post(payload, { 'idempotency-key': 'outage-1' });
      expect(failed.statusCode).toBe(503);
      const abandoned = await post({ ...payload, amount: 80_000 });
      expect(abandoned.statusCode).toBe(503);
    } finally {
      t.stripe.invoices.sendInvoice = original;
    }
    // The retry resumes: the same Stripe draft is sent, no second invoice.
    const retried = await post(payload, { 'idempotency-key': 'outage-1' });
    expect(retried.statusCode).toBe(201);
    expect(retried.json().status).toBe('open');
    const atStripe = await t.stripe.invoices.list({ customer: consumer.stripeCustomerId, limit: 100 });
    expect(atStripe.data.filter((i) => i.amount_due === 70_000)).toHaveLength(1);

    // The one never retried is closed after an hour: its Stripe draft deleted, our row void, nothing agreed.
    const draft = atStripe.data.find((i) => i.amount_due === 80_000 && i.status === 'draft');
    expect(draft).toBeDefined();
    t.clock.advance(2 * 60 * 60 * 1000);
    await t.app.clockJobs.runDue();
    const gone = await t.stripe.invoices.retrieve(draft?.id as string).then(
      (i) => (i as { deleted?: boolean }).deleted === true,
      () => true,
    );
    expect(gone).toBe(true);
    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-OUT', headers: dealer.auth })
    ).json();
    expect(vehicle.totalAgreed).toBe(70_000);
    expect(vehicle.invoices.map((i: { status: string }) => i.status).sort()).toEqual(['open', 'void']);
  });
});
