/**
 * What a dealer and a buyer do, in a real browser: the dealer creates a down-payment link through the service,
 * the buyer opens the printed URL, presses "Mit Karte bezahlen", lands on the service's thank-you page, and the
 * dealer sees the money on the vehicle. Needs Debian's chromium (.ci/run installs it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

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

describe('a payment link paid in the browser', () => {
  let t: TestApp;
  let profile: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ listen: { port }, env: { PUBLIC_BASE_URL: `http://127.0.0.1:${port}` } });
    profile = await mkdtemp(path.join(tmpdir(), 'mp-e2e-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ARGS,
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rm(profile, { recursive: true, force: true });
    await t?.close();
  });

  it('reaches the ledger and the vehicle view', async () => {
    const dealer = await t.createDealer('Reisemobile Nord');
    const link = (
      await t.app.inject({
        method: 'POST',
        url: '/api/payments/payment-links',
        headers: dealer.auth,
        payload: {
          amount: 2_500_000,
          vehicleModel: 'Palace 90G',
          vehicleId: 'VIN-E2E',
          buyerEmail: 'erika@example.de',
        },
      })
    ).json();

    const page = await browser.newPage();
    await page.goto(link.url);
    expect(await page.textContent('body')).toContain('25.000,00');
    await page.getByRole('button', { name: 'Mit Karte bezahlen' }).click();
    await page.waitForURL(/\/payments\/success\?link=/);
    expect(await page.textContent('h1')).toContain('Vielen Dank');

    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
    const vehicle = (
      await t.app.inject({ url: '/api/payments/vehicles/VIN-E2E', headers: dealer.auth })
    ).json();
    expect(vehicle.paid.settled).toBe(2_500_000);
    expect(
      (await t.app.inject({ url: `/api/payments/payment-links/${link.id}`, headers: dealer.auth })).json()
        .status,
    ).toBe('paid');
  }, 60_000);
});
