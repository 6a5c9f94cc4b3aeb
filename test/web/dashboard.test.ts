/**
 * The dealer dashboard in a real browser: a dealer's clerk types the key, finds a buyer (whose name is shown as
 * text even when it looks like HTML), opens the invoices with German amounts and dates, pauses a dunning case;
 * MORELO's finance team sees the letter outbox with its PDFs, a dealer a clear "admin only" note. Needs Debian's
 * chromium (.ci/run installs it).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyers } from '../../src/customers/schema.ts';
import { createTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.ts';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** 2026-03-14 → 14.03.2026 */
const germanDate = (isoDay: string) => isoDay.split('-').reverse().join('.');

describe('the dealer dashboard', () => {
  let t: TestApp;
  let base: string;
  let profile: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await createTestApp({ listen: { port }, env: { PUBLIC_BASE_URL: base } });
    profile = await mkdtemp(path.join(tmpdir(), 'mp-web-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ARGS,
      viewport: { width: 1400, height: 900 },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rm(profile, { recursive: true, force: true });
    await t?.close();
  });

  async function dealerWithInvoice(buyerName: string, email: string, vehicleId: string, amount: number) {
    const dealer = await t.createDealer('Reisemobile Nord');
    const buyer = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: dealer.auth,
      payload: {
        name: buyerName,
        email,
        address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
        buyerId: `B-${vehicleId}`,
        vehicleId,
      },
    });
    expect(buyer.statusCode).toBe(201);
    const invoice = await t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: dealer.auth,
      payload: {
        customerId: buyer.json().id,
        vehicleId,
        kind: 'remainder',
        amount,
        description: 'Palace 90G',
      },
    });
    expect(invoice.statusCode).toBe(201);
    return { dealer, buyerId: buyer.json().id as string, invoice: invoice.json() };
  }

  async function openWithKey(key: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.getByLabel('API-Schlüssel').fill(key);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    return page;
  }

  it('serves the page without a key, with a CSP that allows only its own script', async () => {
    const res = await t.app.inject({ url: '/dashboard' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toContain('API-Schlüssel');
    expect((await t.app.inject({ url: '/dashboard/app.js' })).headers['content-type']).toContain(
      'text/javascript',
    );
  });

  it('shows the buyer as text and the invoice in German format; the key stays out of the URL', async () => {
    const name = 'Erika <b>Fett</b> Mustermann';
    const { dealer, invoice } = await dealerWithInvoice(name, 'erika@example.de', 'WMO90G-WEB-1', 12_345_678);
    const page = await openWithKey(dealer.apiKey);

    const nameButton = page.locator('#panel-buyers').getByRole('button', { name });
    await nameButton.waitFor();
    expect(await nameButton.textContent()).toBe(name);
    expect(await page.locator('#panel-buyers b').count()).toBe(0);
    expect(page.url()).not.toContain(dealer.apiKey);

    await nameButton.click();
    await page.locator('#panel-buyers h2', { hasText: 'Fett' }).waitFor();
    expect(await page.locator('#panel-buyers h2').textContent()).toBe(name);
    const row = page.locator('#panel-buyers table tbody tr').first();
    const cells = await row.locator('td').allTextContents();
    expect(cells).toContain('123.456,78 €');
    expect(cells).toContain('Restzahlung');
    expect(cells).toContain('offen');
    expect(cells).toContain(germanDate(invoice.dueDate));
    expect(await page.locator('#banner').isHidden()).toBe(true);
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });

    // The buyer's vehicle opens the Fahrzeug tab with what is open on it.
    await page.locator('#panel-buyers dl').getByRole('button', { name: 'WMO90G-WEB-1' }).click();
    await page.locator('#vehicle-result h2', { hasText: 'WMO90G-WEB-1' }).waitFor();
    expect(await page.locator('#vehicle-result .cards').textContent()).toContain('Offen123.456,78 €');
    expect(page.url()).not.toContain(dealer.apiKey);
    expect(t.logLines.join('\n')).not.toContain(dealer.apiKey);
    await page.close();
  }, 60_000);

  it('tells the dealer about a bank transfer Stripe could not match, and that dunning waits for it', async () => {
    const name = 'Karl Überweiser';
    const { dealer } = await dealerWithInvoice(name, 'karl@example.de', 'WMO90G-WEB-3', 2_000_000);
    // What the cash-balance handler stores (test/dunning/unapplied-transfer.test.ts covers the events).
    await t.database.db
      .update(buyers)
      .set({ unappliedTransferAmount: 1_500_000 })
      .where(eq(buyers.dealerId, dealer.id));
    const page = await openWithKey(dealer.apiKey);
    await page.locator('#panel-buyers').getByRole('button', { name }).click();
    await page.locator('#panel-buyers h2', { hasText: name }).waitFor();
    const facts = await page.locator('#panel-buyers dl').textContent();
    expect(facts).toContain('Überweisung nicht zugeordnet');
    expect(facts).toContain(
      '15.000,00 € – in Stripe zuordnen oder erstatten; Mahnungen warten bis zu 14 Tage',
    );
    await page.locator('#panel-buyers dl').getByRole('button', { name: 'WMO90G-WEB-3' }).click();
    await page.locator('#vehicle-result h2', { hasText: 'WMO90G-WEB-3' }).waitFor();
    expect(await page.locator('#vehicle-result .cards').textContent()).toContain(
      'Überweisung nicht zugeordnet15.000,00 €',
    );
    await page.close();
  }, 60_000);

  it('shows the API’s 401 message for a wrong key', async () => {
    const page = await openWithKey('mp_wrong_key_0000000000000000');
    const banner = page.locator('#banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain('Fehler 401: Missing or invalid API key.');
    expect(await page.locator('#panel-buyers table').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('pauses a dunning case with a reason; letters are for the admin, with their PDF', async () => {
    const { dealer } = await dealerWithInvoice('Hans Säumig', 'hans@example.de', 'WMO90G-WEB-2', 5_000_000);
    // Due in 14 days; 25 days on it is 11 days overdue and the Zahlungserinnerung (level 1, day 7) is written.
    const advanced = await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days: 25 },
    });
    expect(advanced.statusCode).toBe(200);
    await t.app.outbox.drain();

    const page = await openWithKey(dealer.apiKey);
    await page.getByRole('tab', { name: 'Mahnwesen' }).click();
    const row = page.locator('#panel-dunning tbody tr', { hasText: 'Hans Säumig' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells).toContain('50.000,00 €');
    expect(cells).toContain('11');
    expect(cells.some((c) => c.startsWith('Zahlungserinnerung'))).toBe(true);

    page.once('dialog', (dialog) => dialog.accept('Käufer hat Überweisung angekündigt'));
    await row.getByRole('button', { name: 'Mahnstopp' }).click();
    await row.getByRole('button', { name: 'Fortsetzen' }).waitFor();
    expect(await row.textContent()).toContain('Grund: Käufer hat Überweisung angekündigt');
    const detail = await t.app.inject({ url: '/api/payments/dunning?status=paused', headers: dealer.auth });
    expect(detail.json().data).toHaveLength(1);
    await page.screenshot({ path: '/tmp/dashboard-dunning.png', fullPage: true });

    // A dealer key gets the API's 403 on the outbox: a plain note, no red banner.
    await page.getByRole('tab', { name: 'Briefe' }).click();
    await page.locator('#letters-forbidden').waitFor();
    expect(await page.locator('#banner').isHidden()).toBe(true);
    await page.close();

    const admin = await openWithKey(TEST_ADMIN_KEY);
    await admin.getByRole('tab', { name: 'Briefe' }).click();
    // Both buyers' invoices are overdue by now; Hans's letter is the one his e-mail address is on.
    const letter = admin.locator('#panel-letters tbody tr', { hasText: 'hans@example.de' });
    await letter.waitFor();
    expect(await letter.textContent()).toContain('Zahlungserinnerung');
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      letter.getByRole('button', { name: 'PDF' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.pdf$/);
    const file = await download.path();
    expect((await readFile(file)).subarray(0, 5).toString()).toBe('%PDF-');
    await admin.screenshot({ path: '/tmp/dashboard-letters.png', fullPage: true });
    await admin.close();
  }, 90_000);
});
