/**
 * Shape drift guard. Each table lists every key the SDK's type declares for an object: `true` = the
 * emulator always sends it, `false` = optional in the SDK type and sent only when set (or not
 * emulated). `satisfies Record<keyof T, boolean>` makes tsc fail when the SDK adds or drops a key; the
 * runtime checks fail when the emulator sends a key the SDK does not know, or omits a `true` one.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Wire } from '../../src/emulator/wire.ts';
import { type Harness, startHarness } from './helpers.ts';

const customerKeys = {
  id: true,
  object: true,
  address: true,
  balance: true,
  business_name: false,
  cash_balance: false,
  created: true,
  currency: true,
  customer_account: true,
  default_source: true,
  deleted: false,
  delinquent: true,
  description: true,
  discount: true,
  email: true,
  individual_name: false,
  invoice_credit_balance: false,
  invoice_prefix: true,
  invoice_settings: true,
  livemode: true,
  metadata: true,
  name: true,
  next_invoice_sequence: true,
  phone: true,
  preferred_locales: true,
  shipping: true,
  sources: false,
  subscriptions: false,
  tax: false,
  tax_exempt: true,
  tax_ids: false,
  test_clock: true,
} satisfies Record<keyof Stripe.Customer, boolean>;

const productKeys = {
  id: true,
  object: true,
  active: true,
  created: true,
  default_price: true,
  deleted: false,
  description: true,
  images: true,
  livemode: true,
  marketing_features: true,
  metadata: true,
  name: true,
  package_dimensions: true,
  shippable: true,
  statement_descriptor: true,
  tax_code: true,
  tax_details: true,
  type: true,
  unit_label: true,
  updated: true,
  url: true,
} satisfies Record<keyof Stripe.Product, boolean>;

const priceKeys = {
  id: true,
  object: true,
  active: true,
  billing_scheme: true,
  created: true,
  currency: true,
  currency_options: false,
  custom_unit_amount: true,
  deleted: false,
  livemode: true,
  lookup_key: true,
  metadata: true,
  nickname: true,
  product: true,
  recurring: true,
  tax_behavior: true,
  tiers: false,
  tiers_mode: true,
  transform_quantity: true,
  type: true,
  unit_amount: true,
  unit_amount_decimal: true,
} satisfies Record<keyof Wire<Stripe.Price>, boolean>;

const eventKeys = {
  id: true,
  object: true,
  account: false,
  api_version: true,
  context: false,
  created: true,
  data: true,
  livemode: true,
  pending_webhooks: true,
  request: true,
  type: true,
} satisfies Record<keyof Stripe.EventBase, boolean>;

const webhookEndpointKeys = {
  id: true,
  object: true,
  api_version: true,
  application: true,
  created: true,
  deleted: false,
  description: true,
  enabled_events: true,
  livemode: true,
  metadata: true,
  secret: false,
  status: true,
  url: true,
} satisfies Record<keyof Stripe.WebhookEndpoint, boolean>;

function checkKeys(obj: object, table: Record<string, boolean>, what: string): void {
  const sent = Object.keys(obj);
  expect(
    sent.filter((k) => !(k in table)),
    `${what}: keys the SDK does not declare`,
  ).toEqual([]);
  const always = Object.entries(table)
    .filter(([, v]) => v)
    .map(([k]) => k);
  expect(
    always.filter((k) => !sent.includes(k)),
    `${what}: keys missing`,
  ).toEqual([]);
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emu.close());

it('sends objects whose keys match the SDK types', async () => {
  const customer = await h.stripe.customers.create({ name: 'Shape' });
  checkKeys(customer, customerKeys, 'customer');
  const product = await h.stripe.products.create({
    name: 'Shape',
    default_price_data: { currency: 'eur', unit_amount: 1 },
  });
  checkKeys(product, productKeys, 'product');
  const price = await h.stripe.prices.retrieve(product.default_price as string);
  checkKeys(price, priceKeys, 'price');
  const event = (await h.stripe.events.list({ limit: 1 })).data[0]!;
  checkKeys(event, eventKeys, 'event');
  const endpoint = await h.stripe.webhookEndpoints.create({
    url: 'https://example.com/x',
    enabled_events: ['*'],
  });
  checkKeys(endpoint, webhookEndpointKeys, 'webhook endpoint');
  expect(endpoint.secret).toMatch(/^whsec_/);
});
