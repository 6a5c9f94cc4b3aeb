/**
 * Shape drift guard for the checkout objects (same idea as shapes.test.ts): each table lists every key
 * the SDK declares, `true` = always sent, `false` = optional in the SDK and sent only when set.
 * `satisfies Record<keyof T, boolean>` fails to compile when the SDK adds or drops a key.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers.ts';

const paymentLinkKeys = {
  id: true,
  object: true,
  active: true,
  after_completion: true,
  allow_promotion_codes: true,
  application: true,
  application_fee_amount: true,
  application_fee_percent: true,
  automatic_tax: true,
  billing_address_collection: true,
  consent_collection: true,
  currency: true,
  custom_fields: true,
  custom_text: true,
  customer_creation: true,
  inactive_message: true,
  invoice_creation: true,
  line_items: false,
  livemode: true,
  managed_payments: true,
  metadata: true,
  name_collection: false,
  on_behalf_of: true,
  optional_items: false,
  payment_intent_data: true,
  payment_method_collection: true,
  payment_method_options: true,
  payment_method_types: true,
  phone_number_collection: true,
  restrictions: true,
  shipping_address_collection: true,
  shipping_options: true,
  submit_type: true,
  subscription_data: true,
  tax_id_collection: true,
  transfer_data: true,
  url: true,
} satisfies Record<keyof Stripe.PaymentLink, boolean>;

const sessionKeys = {
  id: true,
  object: true,
  adaptive_pricing: true,
  after_expiration: true,
  allow_promotion_codes: true,
  allowed_payment_method_types: true,
  amount_subtotal: true,
  amount_total: true,
  automatic_tax: true,
  billing_address_collection: true,
  branding_settings: false,
  cancel_url: true,
  client_reference_id: true,
  client_secret: true,
  collected_information: true,
  consent: true,
  consent_collection: true,
  created: true,
  currency: true,
  currency_conversion: true,
  custom_fields: true,
  custom_text: true,
  customer: true,
  customer_account: true,
  customer_creation: true,
  customer_details: true,
  customer_email: true,
  discounts: true,
  excluded_payment_method_types: false,
  expires_at: true,
  integration_identifier: true,
  invoice: true,
  invoice_creation: true,
  line_items: false,
  livemode: true,
  locale: true,
  managed_payments: true,
  metadata: true,
  mode: true,
  name_collection: false,
  optional_items: false,
  origin_context: true,
  payment_intent: true,
  payment_link: true,
  payment_method_collection: true,
  payment_method_configuration_details: true,
  payment_method_options: true,
  payment_method_types: true,
  payment_status: true,
  permissions: true,
  phone_number_collection: false,
  presentment_details: false,
  recovered_from: true,
  redirect_on_completion: false,
  return_url: false,
  saved_payment_method_options: true,
  setup_intent: true,
  shipping_address_collection: true,
  shipping_cost: true,
  shipping_options: true,
  status: true,
  submit_type: true,
  subscription: true,
  success_url: true,
  tax_id_collection: false,
  total_details: true,
  ui_mode: true,
  url: true,
  wallet_options: true,
} satisfies Record<keyof Stripe.Checkout.Session, boolean>;

const setupIntentKeys = {
  id: true,
  object: true,
  allowed_payment_method_types: true,
  application: true,
  attach_to_self: false,
  automatic_payment_methods: true,
  cancellation_reason: true,
  client_secret: true,
  created: true,
  customer: true,
  customer_account: false,
  description: true,
  excluded_payment_method_types: true,
  flow_directions: false,
  last_setup_error: true,
  latest_attempt: true,
  livemode: true,
  managed_payments: false,
  mandate: true,
  metadata: true,
  next_action: true,
  on_behalf_of: true,
  payment_method: true,
  payment_method_configuration_details: true,
  payment_method_options: true,
  payment_method_types: true,
  single_use_mandate: true,
  status: true,
  usage: true,
} satisfies Record<keyof Stripe.SetupIntent, boolean>;

const lineItemKeys = {
  id: true,
  object: true,
  adjustable_quantity: true,
  amount_discount: true,
  amount_subtotal: true,
  amount_tax: true,
  amount_total: true,
  currency: true,
  description: true,
  discounts: false,
  metadata: true,
  price: true,
  quantity: true,
  taxes: false,
} satisfies Record<keyof Stripe.LineItem, boolean>;

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

it('sends payment links, sessions, line items and SetupIntents whose keys match the SDK types', async () => {
  const link = await h.stripe.paymentLinks.create({
    line_items: [
      { price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'Shape' } }, quantity: 1 },
    ],
  });
  checkKeys(link, paymentLinkKeys, 'payment link');
  const [item] = (await h.stripe.paymentLinks.listLineItems(link.id)).data;
  checkKeys(item!, lineItemKeys, 'line item');

  const session = await h.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price: item!.price!.id, quantity: 1 }],
  });
  checkKeys(session, sessionKeys, 'checkout session (payment)');

  const customer = await h.stripe.customers.create({ name: 'Shape' });
  const setup = await h.stripe.checkout.sessions.create({
    mode: 'setup',
    currency: 'eur',
    customer: customer.id,
  });
  checkKeys(setup, sessionKeys, 'checkout session (setup)');
  const si = await h.stripe.setupIntents.retrieve(setup.setup_intent as string);
  checkKeys(si, setupIntentKeys, 'setup intent');
});
