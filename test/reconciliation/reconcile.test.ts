import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/invoices/schema.ts';
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

  it('compares what is outstanding or changed on every run, and everything once a day or on request', async () => {
    const run = async (query = '') =>
      (await t.app.inject({ method: 'POST', url: `/api/admin/reconcile${query}`, headers: t.admin })).json();
    const paid = await invoice('VIN-D', 3_000_000);
    await t.stripe.invoices.pay(paid.stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    // The next run starts an hour after that payment was booked.
    t.clock.advance(3_600_000);
    const open = await invoice('VIN-E', 1_500_000);
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    const first = await run();
    expect(first.differences.map((d: { invoiceId: string }) => d.invoiceId)).not.toContain(paid.id);

    // An hour later the paid invoice's ledger entry disappears, the invoice itself is unchanged; meanwhile
    // the open invoice is paid at Stripe without the webhook reaching us.
    t.clock.advance(3_600_000);
    await t.database.db.delete(ledgerEntries).where(eq(ledgerEntries.invoiceId, paid.id));
    const endpoints = await t.stripe.webhookEndpoints.list();
    for (const e of endpoints.data) await t.stripe.webhookEndpoints.update(e.id, { disabled: true });
    await t.stripe.invoices.pay(open.stripeInvoiceId, { paid_out_of_band: true });
    await t.emulator.drainWebhooks();
    for (const e of endpoints.data) await t.stripe.webhookEndpoints.update(e.id, { disabled: false });

    // An ordinary run looks at the open invoice (a lost payment always shows) but not at the old paid one.
    const incremental = await run();
    expect(incremental.full).toBe(false);
    const checkedIds = (r: { differences: { invoiceId: string }[] }) => r.differences.map((d) => d.invoiceId);
    expect(checkedIds(incremental)).not.toContain(paid.id);
    expect(
      (await t.app.inject({ url: `/api/payments/invoices/${open.id}`, headers: dealer.auth })).json().status,
    ).toBe('paid');
    const total = (await t.database.db.select().from(invoices)).filter((i) => i.stripeInvoiceId).length;
    expect(incremental.invoicesChecked).toBeLessThan(total);

    // On request, and by itself a day after the last full run, every invoice is compared.
    const requested = await run('?full=true');
    expect(requested.full).toBe(true);
    expect(requested.differences).toEqual(
      expect.arrayContaining([expect.objectContaining({ invoiceId: paid.id, ours: 0, stripe: 3_000_000 })]),
    );
    t.clock.advance(3_600_000);
    expect((await run()).full).toBe(false);
    t.clock.advance(24 * 3_600_000);
    const daily = await run();
    expect(daily.full).toBe(true);
    expect(checkedIds(daily)).toContain(paid.id);
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/admin/reconcile?full=yes', headers: t.admin }))
        .statusCode,
    ).toBe(400);
  });

  it('is for the admin only', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/admin/reconcile', headers: dealer.auth });
    expect(res.statusCode).toBe(403);
  });
});
