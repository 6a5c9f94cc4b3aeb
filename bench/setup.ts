/** The app the HTTP benchmarks share: the test harness's full app with one dealer and its 100 buyers. */
import { createTestApp, type TestApp } from '../test/helpers/app.ts';

/** The webhook signing secret the benchmark app is configured with (its events are signed with it). */
export const BENCH_WEBHOOK_SECRET = 'whsec_benchmark_0123456789abcdef';
/** How many buyers the dealer has: one full page of GET /api/payments/customers?limit=100. */
export const BUYER_COUNT = 100;

/** The app, the dealer, and its buyers' Stripe customer ids (webhook events refer to them). */
export interface BenchApp {
  t: TestApp;
  dealer: Awaited<ReturnType<TestApp['createDealer']>>;
  customerIds: string[];
}

/** Builds the app (no listening port: nothing here needs Stripe to call us) and creates the buyers. */
export async function createBenchApp(): Promise<BenchApp> {
  const t = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET } });
  const dealer = await t.createDealer('Reisemobile Benchmark GmbH');
  const customerIds: string[] = [];
  for (let i = 0; i < BUYER_COUNT; i++) {
    // One second apart, as buyers arrive in life, so the newest-first list has a real order.
    t.clock.advance(1000);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/customers',
      headers: dealer.auth,
      payload: {
        name: `Käufer ${i}`,
        email: `kaeufer${i}@example.de`,
        address: { line1: `Heidestraße ${i + 1}`, postalCode: '51147', city: 'Köln' },
        buyerId: `B-${1000 + i}`,
        vehicleId: `VIN-WMO90G${String(i).padStart(6, '0')}`,
      },
    });
    if (res.statusCode !== 201) throw new Error(`buyer creation failed: ${res.statusCode} ${res.body}`);
    const { stripeCustomerId } = res.json() as { stripeCustomerId: string | null };
    if (!stripeCustomerId) throw new Error('buyer without a Stripe customer');
    customerIds.push(stripeCustomerId);
  }
  // The test logger keeps every line in memory; the set-up's lines would only blur the memory figures.
  t.logLines.length = 0;
  return { t, dealer, customerIds };
}
