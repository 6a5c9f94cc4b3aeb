/**
 * The hosted checkout in a real browser: open a payment link, press "Mit Karte bezahlen", land on the
 * merchant's redirect URL with the session id, and see the session completed through the SDK.
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
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

let h: Harness;
let merchant: http.Server;
let merchantUrl: string;
let profile: string;
let browser: BrowserContext;

beforeAll(async () => {
  h = await startHarness();
  // The dealer's "thank you" page the link redirects to.
  merchant = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end('<!doctype html><title>Danke</title><h1>Danke für Ihre Anzahlung</h1>');
  });
  await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
  merchantUrl = `http://127.0.0.1:${(merchant.address() as AddressInfo).port}`;
  profile = await mkdtemp(path.join(tmpdir(), 'checkout-chromium-'));
  // A persistent context is how Playwright takes a fresh --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rm(profile, { recursive: true, force: true });
  await new Promise<void>((resolve) => merchant?.close(() => resolve()));
  await h?.emu.close();
});

it('pays a payment link by card in the browser and lands on the redirect URL', async () => {
  const link = await h.stripe.paymentLinks.create({
    line_items: [
      {
        price_data: {
          currency: 'eur',
          unit_amount: 2_500_000,
          product_data: { name: 'Anzahlung MORELO Palace 90G' },
        },
        quantity: 1,
      },
    ],
    metadata: { contract: 'K-4711' },
    after_completion: {
      type: 'redirect',
      redirect: { url: `${merchantUrl}/danke?session={CHECKOUT_SESSION_ID}` },
    },
  });

  const page = await browser.newPage();
  await page.goto(link.url);
  expect(await page.textContent('table')).toContain('Anzahlung MORELO Palace 90G');
  expect(await page.textContent('.total')).toContain('25.000,00');
  await page.screenshot({ path: path.join(tmpdir(), 'checkout.png'), fullPage: true });

  await page.getByRole('button', { name: 'Mit Karte bezahlen' }).click();
  await page.waitForURL(/\/danke\?session=cs_test_/);
  expect(await page.textContent('h1')).toBe('Danke für Ihre Anzahlung');

  const sessionId = new URL(page.url()).searchParams.get('session')!;
  const session = await h.stripe.checkout.sessions.retrieve(sessionId);
  expect(session).toMatchObject({
    status: 'complete',
    payment_status: 'paid',
    payment_link: link.id,
    metadata: { contract: 'K-4711' },
  });
  const pi = await h.stripe.paymentIntents.retrieve(session.payment_intent as string);
  expect(pi.status).toBe('succeeded');
}, 60_000);
