/** Shared set-up of the dunning scenario tests: deps for runDunning, buyers and invoice rows. */
import { Writable } from 'node:stream';
import { buyers } from '../../src/customers/schema.ts';
import { type InvoiceKind, invoices } from '../../src/invoices/schema.ts';
import { addDays, type BusinessDate, berlinStartOfDay } from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { newId } from '../../src/platform/ids.ts';
import { createLogger } from '../../src/platform/logger.ts';
import type { TestApp } from '../helpers/app.ts';

/** The deps the app's services get, for calling runDunning directly. */
export function depsOf(t: TestApp): ServiceDeps {
  return {
    db: t.database.db,
    stripe: t.stripe,
    clock: t.clock,
    cache: t.cache,
    log: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    publicBaseUrl: t.config.publicBaseUrl,
  };
}

/** Inserts a buyer row for a dealer (no Stripe customer needed by the scheduler). */
export async function insertBuyer(
  t: TestApp,
  dealerId: string,
  type: 'consumer' | 'business',
  name = type === 'consumer' ? 'Erika Mustermann' : 'Camping Meyer GmbH',
): Promise<string> {
  const id = newId('byr');
  const now = new Date(t.clock.now());
  await t.database.db.insert(buyers).values({
    id,
    dealerId,
    buyerRef: id,
    vehicleId: 'VIN-WMO90G000001',
    type,
    name,
    email: `${id}@example.de`,
    address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln', country: 'DE' },
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

let invoiceSequence = 0;

/**
 * Inserts an open invoice row due on `dueDate`, issued 14 days before. Its number has Stripe's shape
 * (`<prefix>-<sequence>`), never a random id's `-`/`_`, so tests can rely on how it reads.
 */
export async function insertOpenInvoice(
  t: TestApp,
  input: {
    dealerId: string;
    buyerId: string;
    amount: number;
    dueDate: BusinessDate;
    kind?: InvoiceKind;
    financingPlanId?: string;
    stripeInvoiceId?: string;
  },
): Promise<string> {
  const id = newId('inv');
  const issued = new Date(berlinStartOfDay(addDays(input.dueDate, -14)) + 10 * 3_600_000);
  await t.database.db.insert(invoices).values({
    id,
    dealerId: input.dealerId,
    buyerId: input.buyerId,
    vehicleId: 'VIN-WMO90G000001',
    kind: input.kind ?? 'remainder',
    description: 'Restzahlung MORELO Palace 90G',
    amount: input.amount,
    daysUntilDue: 14,
    paymentMethodTypes: ['customer_balance', 'card'],
    status: 'open',
    stripeInvoiceId: input.stripeInvoiceId ?? null,
    number: `MORTEST-${String(++invoiceSequence).padStart(4, '0')}`,
    hostedInvoiceUrl: `https://invoice.stripe.test/i/${id}`,
    dueDate: input.dueDate,
    amountRemaining: input.amount,
    financingPlanId: input.financingPlanId ?? null,
    createdAt: issued,
    updatedAt: issued,
  });
  return id;
}

/** Every day from `from` to `to`, both included. */
export function days(from: BusinessDate, to: BusinessDate): BusinessDate[] {
  const out: BusinessDate[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * Default interest of one period computed independently of the code under test: principal × (base
 * rate + margin) × days / 365, half-up to the cent, in exact integer arithmetic. Rates in basis points.
 */
export function expectedInterest(principal: number, rateBasisPoints: number, dayCount: number): number {
  const num = BigInt(principal) * BigInt(rateBasisPoints) * BigInt(dayCount);
  const den = 10_000n * 365n;
  return Number((2n * num + den) / (2n * den));
}

/**
 * The URL of the dunning case of one invoice, as a dealer finds it: in GET /api/payments/dunning. Throws when
 * the invoice has no case.
 */
export async function caseUrlOf(
  t: TestApp,
  headers: Record<string, string>,
  invoiceId: string,
): Promise<string> {
  const list = (await t.app.inject({ url: '/api/payments/dunning?limit=100', headers })).json();
  const found = list.data.find((c: { invoice: { id: string } }) => c.invoice.id === invoiceId);
  if (!found) throw new Error(`no dunning case for ${invoiceId}`);
  return `/api/payments/dunning/${found.id}`;
}
