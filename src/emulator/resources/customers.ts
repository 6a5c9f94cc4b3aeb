/** Customers: create, retrieve (deleted ones as `{deleted: true}`), update, delete, list, search. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { randomBase62 } from '../ids.ts';
import { paginate, searchPage } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type ResourceModule, route } from '../resource.ts';
import { compileSearch, type SearchSpec } from '../search.ts';
import { assertAttachedPaymentMethod } from './payment-methods.ts';
import { addressParam, requireLive, saveUpdate, toAddress } from './shared.ts';

const COLLECTION = 'customer';

const shippingParam = p.object({
  address: addressParam.required(),
  name: p.string().required(),
  phone: p.string(),
});

const invoiceSettingsParam = p.object({
  custom_fields: p
    .array(
      p.object({
        name: p.string({ maxLength: 40 }).required(),
        value: p.string({ maxLength: 140 }).required(),
      }),
      { max: 4 },
    )
    .emptyable(),
  default_payment_method: p.string(),
  footer: p.string(),
  rendering_options: p
    .object({
      amount_tax_display: p.enum(['exclude_tax', 'include_inclusive_tax']).emptyable(),
      template: p.string(),
    })
    .emptyable(),
});

/** Fields shared by create and update. */
const writableFields = {
  address: addressParam.emptyable(),
  balance: p.integer(),
  business_name: p.string({ maxLength: 150 }).emptyable(),
  description: p.string().emptyable(),
  email: p.string({ maxLength: 512 }).emptyable(),
  individual_name: p.string({ maxLength: 150 }).emptyable(),
  invoice_prefix: p.string(),
  invoice_settings: invoiceSettingsParam,
  metadata: p.metadata(),
  name: p.string({ maxLength: 256 }).emptyable(),
  next_invoice_sequence: p.integer({ min: 1 }),
  phone: p.string({ maxLength: 20 }).emptyable(),
  preferred_locales: p.array(p.string()).emptyable(),
  shipping: shippingParam.emptyable(),
  tax_exempt: p.enum(['exempt', 'none', 'reverse']).emptyable(),
  validate: p.boolean(),
};
type Writable = Infer<typeof writableFields>;

const createFields = { ...writableFields, test_clock: p.string() };
const updateFields = { ...writableFields, default_source: p.string() };
const listParams = { ...listFields, email: p.string({ maxLength: 512 }), created: p.range() };
const searchFields = {
  query: p.string().required(),
  limit: p.integer({ min: 1, max: 100 }),
  page: p.string(),
};

/** A new customer with Stripe's defaults; typed against the SDK so shape drift fails to compile. */
export function buildCustomer(id: string, created: number): Stripe.Customer {
  return {
    id,
    object: 'customer',
    address: null,
    balance: 0,
    created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: null,
    invoice_prefix: randomBase62(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: {},
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  } satisfies Stripe.Customer;
}

/** Applies create/update params to a customer (returns a new object). */
function applyParams(current: Stripe.Customer, params: Writable): Stripe.Customer {
  const c: Stripe.Customer = structuredClone(current);
  if (params.address !== undefined) c.address = params.address === null ? null : toAddress(params.address);
  if (params.balance !== undefined) c.balance = params.balance;
  if (params.business_name !== undefined) {
    if (params.business_name === null) delete c.business_name;
    else c.business_name = params.business_name;
  }
  if (params.individual_name !== undefined) {
    if (params.individual_name === null) delete c.individual_name;
    else c.individual_name = params.individual_name;
  }
  if (params.description !== undefined) c.description = params.description;
  if (params.email !== undefined) c.email = params.email;
  if (params.invoice_prefix !== undefined) {
    if (!/^[A-Z0-9]{3,12}$/.test(params.invoice_prefix)) {
      throw errors.invalidParam(
        'invoice_prefix',
        'Invalid invoice_prefix: must be 3–12 uppercase letters or numbers.',
      );
    }
    c.invoice_prefix = params.invoice_prefix;
  }
  const is = params.invoice_settings;
  if (is) {
    if (is.custom_fields !== undefined) c.invoice_settings.custom_fields = is.custom_fields;
    if (is.default_payment_method !== undefined) {
      // The update handler checks that the PaymentMethod is attached to this customer.
      c.invoice_settings.default_payment_method = is.default_payment_method || null;
    }
    if (is.footer !== undefined) c.invoice_settings.footer = is.footer || null;
    if (is.rendering_options !== undefined) {
      c.invoice_settings.rendering_options =
        is.rendering_options === null
          ? null
          : {
              amount_tax_display: is.rendering_options.amount_tax_display ?? null,
              template: is.rendering_options.template ?? null,
            };
    }
  }
  c.metadata = applyMetadata(c.metadata, params.metadata);
  if (params.name !== undefined) c.name = params.name;
  if (params.next_invoice_sequence !== undefined) c.next_invoice_sequence = params.next_invoice_sequence;
  if (params.phone !== undefined) c.phone = params.phone;
  if (params.preferred_locales !== undefined) c.preferred_locales = params.preferred_locales ?? [];
  if (params.shipping !== undefined) {
    c.shipping =
      params.shipping === null
        ? null
        : {
            address: toAddress(params.shipping.address),
            name: params.shipping.name,
            phone: params.shipping.phone ?? null,
            carrier: null,
            tracking_number: null,
          };
  }
  if (params.tax_exempt !== undefined) c.tax_exempt = params.tax_exempt ?? 'none';
  return c;
}

const searchSpec: SearchSpec<Stripe.Customer> = {
  fields: {
    email: { kind: 'string', substring: true, get: (c) => c.email },
    name: { kind: 'string', substring: true, get: (c) => c.name },
    phone: { kind: 'string', substring: true, get: (c) => c.phone },
    created: { kind: 'number', get: (c) => c.created },
  },
  metadata: (c) => c.metadata,
};

export const customers: ResourceModule = {
  name: 'customers',
  objects: [{ prefix: 'cus_', collection: COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/customers',
      params: createFields,
      handler(ctx) {
        const { test_clock, ...params } = ctx.params;
        const customer = applyParams(buildCustomer(ctx.newId('cus'), ctx.now()), params);
        if (test_clock !== undefined) {
          // Test clocks live in their own resource; the customer only records which one it follows.
          requireLive(ctx, 'test_clock', test_clock, 'test_clock', 'test_clock', 400);
          customer.test_clock = test_clock;
        }
        const saved = ctx.store.collection<Stripe.Customer>(COLLECTION).insert(customer);
        ctx.emit('customer.created', saved);
        return saved;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers',
      params: listParams,
      handler(ctx) {
        const { email, created } = ctx.params;
        const items = ctx.store
          .collection<Stripe.Customer>(COLLECTION)
          .list((c) => (email === undefined || c.email === email) && inRange(c.created, created));
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/search',
      params: searchFields,
      handler(ctx) {
        const matches = compileSearch(ctx.params.query, searchSpec);
        return searchPage(ctx, ctx.store.collection<Stripe.Customer>(COLLECTION).list(matches));
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/:id',
      params: {},
      handler(ctx) {
        const found = ctx.store
          .collection<Stripe.Customer | Stripe.DeletedCustomer>(COLLECTION)
          .get(ctx.path.id!);
        if (!found) throw errors.resourceMissing('customer', ctx.path.id!);
        return found;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/customers/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.Customer>(ctx, COLLECTION, ctx.path.id!, 'customer');
        const after = applyParams(before, ctx.params);
        assertAttachedPaymentMethod(
          ctx,
          before.id,
          ctx.params.invoice_settings?.default_payment_method ?? null,
        );
        if (ctx.params.default_source !== undefined) {
          throw errors.resourceMissing('source', ctx.params.default_source, 'default_source', 400);
        }
        return saveUpdate(ctx, COLLECTION, before, after, 'customer.updated');
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/customers/:id',
      params: {},
      handler(ctx) {
        const customer = requireLive<Stripe.Customer>(ctx, COLLECTION, ctx.path.id!, 'customer');
        const tombstone: Stripe.DeletedCustomer = { id: customer.id, object: 'customer', deleted: true };
        ctx.store.collection(COLLECTION).markDeleted(customer.id, tombstone);
        ctx.emit('customer.deleted', customer);
        return tombstone;
      },
    }),
  ],
};
