/** Helpers for the financing plan tests: buyers with or without a payment method, plans, settling events. */
import { sql } from 'drizzle-orm';
import { addMonths, type BusinessDate, berlinDate, daysBetween } from '../../src/platform/dates.ts';
import type { TestApp } from '../helpers/app.ts';

export type Dealer = Awaited<ReturnType<TestApp['createDealer']>>;

/** Today in Berlin by the test app's clock. */
export const todayOf = (t: TestApp): BusinessDate => berlinDate(t.clock.now());

/** The first day of next month: a start date in the future that every month has. */
export function nextMonthStart(t: TestApp): BusinessDate {
  const next = addMonths(todayOf(t), 1);
  return `${next.slice(0, 8)}01` as BusinessDate;
}

let buyerCounter = 0;

/** Creates a buyer through the API; with `paymentMethod` (a test token) one is attached at Stripe. */
export async function createBuyer(
  t: TestApp,
  dealer: Dealer,
  options: { paymentMethod?: string; vehicleId?: string } = {},
): Promise<{ id: string; stripeCustomerId: string; vehicleId: string }> {
  buyerCounter++;
  const vehicleId = options.vehicleId ?? `WMO90G${String(buyerCounter).padStart(6, '0')}`;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/payments/customers',
    headers: dealer.auth,
    payload: {
      name: `Käufer ${buyerCounter}`,
      email: `kaeufer${buyerCounter}@example.de`,
      address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
      buyerId: `B-${buyerCounter}`,
      vehicleId,
    },
  });
  if (res.statusCode !== 201) throw new Error(`buyer: ${res.statusCode} ${res.body}`);
  const buyer = res.json() as { id: string; stripeCustomerId: string };
  if (options.paymentMethod) {
    await t.stripe.paymentMethods.attach(options.paymentMethod, { customer: buyer.stripeCustomerId });
  }
  return { ...buyer, vehicleId };
}

/** POST /api/payments/subscriptions. */
export function postPlan(
  t: TestApp,
  dealer: Dealer,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return t.app.inject({
    method: 'POST',
    url: '/api/payments/subscriptions',
    headers: { ...dealer.auth, ...headers },
    payload,
  });
}

/**
 * Waits until the emulator has delivered its webhooks and the inbox has applied them — a few rounds, since
 * handlers call Stripe too (a setup completion creates the schedule, whose events come back).
 */
export async function settle(t: TestApp): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await t.emulator.drainWebhooks();
    await t.app.inbox.drain();
  }
}

/** Moves the offline clock through POST /api/dev/advance-time (events processed, clock jobs run). */
export async function advanceDays(t: TestApp, days: number): Promise<void> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/dev/advance-time',
    headers: t.admin,
    payload: { days },
  });
  if (res.statusCode !== 200) throw new Error(`advance-time: ${res.statusCode} ${res.body}`);
}

/** Moves the offline clock to the start of `day` (if it is ahead) and lets every webhook be applied. */
export async function advanceTo(t: TestApp, day: BusinessDate): Promise<void> {
  const days = daysBetween(todayOf(t), day);
  if (days > 0) await advanceDays(t, days);
  await settle(t);
}

/**
 * Advances month by month to a day after each due date from `start` on (so every renewal is invoiced,
 * finalized an hour later and charged, one at a time), until `months` due dates have passed.
 */
export async function advanceThroughMonths(t: TestApp, start: BusinessDate, months: number): Promise<void> {
  for (let k = 0; k < months; k++) {
    const target = addMonths(start, k, Number(start.slice(8, 10)));
    const days = daysBetween(todayOf(t), target) + 1;
    if (days > 0) await advanceDays(t, days);
  }
}

/** Sum of ledger entries of one kind for a vehicle. */
export async function ledgerSum(
  t: TestApp,
  vehicleId: string,
  kind: string,
): Promise<{ sum: number; count: number }> {
  const result = (await t.database.db.execute(
    sql`select coalesce(sum(amount), 0)::bigint as sum, count(*)::int as count from ledger_entries
        where vehicle_id = ${vehicleId} and kind = ${kind}`,
  )) as unknown as { rows: Array<{ sum: string | number; count: number }> };
  const row = result.rows[0];
  return { sum: Number(row?.sum ?? 0), count: Number(row?.count ?? 0) };
}

/** Completes a Checkout Session the way the emulator's page buttons do. */
export async function completeCheckout(
  t: TestApp,
  session: string,
  outcome: 'card' | 'sepa_success' = 'card',
) {
  const res = await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
    body: JSON.stringify({ session, outcome }),
  });
  if (!res.ok) throw new Error(`checkout complete: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
}
