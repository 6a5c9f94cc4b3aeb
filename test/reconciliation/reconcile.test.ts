import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerEntries } from '../../src/ledger/schema.ts';
import { readSetting } from '../../src/platform/settings.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('reconciliation finds what the webhook missed', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;
  let buyerId: string;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    dealer = await t.createDealer('Reisemobile Ost');
    buyerId = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/customers',
        headers: dealer.auth,
        payload: {
          name: 'Anna Fahrer',
          email: 'anna@example.de',
          address: 'Ring 3, 01067 Dresden',
          buyerId: 'B-A',
          vehicleId: 'VIN-A',
        },
      })
    ).json().id;
  });
  afterAll(() => t.close());

  const invoice = async (vehicleId: string, amount: number) =>
    (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/invoices',
        headers: dealer.auth,
        payload: { customerId: buyerId, vehicleId, kind: 'remainder', amount, description: 'Restzahlung' },
      })
    ).json();

  it('replays events that never arrived (endpoint down) and the invoice ends up paid', async () => {
    const created = await invoice('VIN-A', 9_000_000);
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    // The service's endpoint stops receiving (as if Stripe had given up on it during an outage).
    const endpoints = await t.stripe.webhookEndpoints.list();
    for (const e of endpoints.data) await t.stripe.webhookEndpoints.update(e.id, { disabled: true });
    await t.stripe.invoices.pay(created.stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    expect(
      (await t.app.inject({ url: `/api/payments/invoices/${created.id}`, headers: dealer.auth })).json()
        .status,
    ).toBe('open');

    const res = await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: t.admin });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report.eventsReplayed.length).toBeGreaterThan(0);
    expect(report.differences).toEqual([]);
    const after = await t.app.inject({ url: `/api/payments/invoices/${created.id}`, headers: dealer.auth });
    expect(after.json()).toMatchObject({ status: 'paid', amountPaid: 9_000_000 });
    expect(await readSetting<number>(t.database.db, 'reconcile_checkpoint')).toBeGreaterThan(0);

    // A second run finds nothing new.
    const again = (
      await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: t.admin })
    ).json();
    expect(again.eventsReplayed).toEqual([]);
    for (const e of endpoints.data) await t.stripe.webhookEndpoints.update(e.id, { disabled: false });
  });

  it('reports a ledger that disagrees with Stripe instead of hiding it', async () => {
    const paid = await invoice('VIN-B', 4_000_000);
    await t.stripe.invoices.pay(paid.stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    // Someone removed the ledger entry by hand.
    await t.database.db.delete(ledgerEntries).where(eq(ledgerEntries.invoiceId, paid.id));
    const report = (
      await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: t.admin })
    ).json();
    expect(report.differences).toEqual([
      expect.objectContaining({ invoiceId: paid.id, vehicleId: 'VIN-B', ours: 0, stripe: 4_000_000 }),
    ]);
  });

  it('finds a link payment Stripe collected that the ledger never heard of', async () => {
    const link = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/payment-links',
        headers: dealer.auth,
        payload: { amount: 250_000, vehicleModel: 'Loft', vehicleId: 'VIN-C', buyerEmail: 'anna@example.de' },
      })
    ).json();
    await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
      body: JSON.stringify({ link: link.stripePaymentLinkId, outcome: 'card' }),
    });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    // The payment's ledger entry is lost (as if its events had never been applied).
    await t.database.db.delete(ledgerEntries).where(eq(ledgerEntries.vehicleId, 'VIN-C'));
    const report = (
      await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: t.admin })
    ).json();
    expect(report.linksChecked).toBeGreaterThan(0);
    expect(report.differences).toEqual(
      expect.arrayContaining([expect.objectContaining({ vehicleId: 'VIN-C', ours: 0, stripe: 250_000 })]),
    );
  });

  it('is for the admin only', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: dealer.auth });
    expect(res.statusCode).toBe(403);
  });
});
