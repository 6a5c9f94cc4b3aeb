/**
 * Payment links: create, retrieve, update (deactivate, metadata ...), list, list line items. The link's
 * `url` is a page the emulator serves itself (checkout-page.ts); paying there creates a Checkout
 * Session with `payment_link` set. Also home of the line-item builder that Checkout Sessions share.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, listFields, p } from '../params.ts';
import { type EmulatorContext, type RequestContext, type ResourceModule, route } from '../resource.ts';
import type { Wire } from '../wire.ts';
import { createPrice, type WirePrice } from './prices.ts';
import { createProduct, PRODUCT_COLLECTION } from './product-store.ts';
import { currencyCode, requireLive, saveUpdate } from './shared.ts';

export const PAYMENT_LINK_COLLECTION = 'payment_link';
/** Line items are not objects of their own on Stripe (no retrieve), so they live apart, keyed by owner id. */
const LINE_ITEMS_COLLECTION = 'checkout_line_items';

export type WireLineItem = Wire<Stripe.LineItem>;
interface StoredLineItems {
  id: string;
  object: 'line_items';
  data: WireLineItem[];
}

/** Payment method types a payment link accepts (PaymentLinkCreateParams.PaymentMethodType). */
export const LINK_PAYMENT_METHOD_TYPES = [
  'affirm',
  'afterpay_clearpay',
  'alipay',
  'alma',
  'au_becs_debit',
  'bacs_debit',
  'bancontact',
  'billie',
  'bizum',
  'blik',
  'boleto',
  'card',
  'cashapp',
  'eps',
  'fpx',
  'giropay',
  'grabpay',
  'ideal',
  'klarna',
  'konbini',
  'link',
  'mb_way',
  'mobilepay',
  'multibanco',
  'oxxo',
  'p24',
  'pay_by_bank',
  'paynow',
  'paypal',
  'paypay',
  'payto',
  'pix',
  'promptpay',
  'satispay',
  'scalapay',
  'sepa_debit',
  'sequra',
  'sofort',
  'sunbit',
  'swish',
  'twint',
  'upi',
  'us_bank_account',
  'wechat_pay',
  'zip',
] as const;

/** `price_data` of a line item (payment links and Checkout Sessions take the same shape). */
export const priceDataParam = p.object({
  currency: p.string().required(),
  product: p.string(),
  product_data: p.object({
    name: p.string().required(),
    description: p.string(),
    images: p.array(p.string(), { max: 8 }),
    metadata: p.metadata(),
    tax_code: p.string(),
    tax_details: p.object({ performance_location: p.string(), tax_code: p.string().emptyable() }),
    unit_label: p.string({ maxLength: 12 }),
  }),
  recurring: p.object({
    interval: p.enum(['day', 'week', 'month', 'year']).required(),
    interval_count: p.integer({ min: 1 }),
  }),
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  unit_amount: p.integer({ min: 0 }),
  unit_amount_decimal: p.decimal(),
});

export const adjustableQuantityParam = p.object({
  enabled: p.boolean().required(),
  maximum: p.integer({ min: 1, max: 999_999 }),
  minimum: p.integer({ min: 0, max: 999_999 }),
});

/** What the line-item builder reads, from either resource's params. */
export interface LineItemInput {
  price?: string;
  price_data?: NonNullable<Infer<{ d: typeof priceDataParam }>['d']>;
  quantity?: number;
  adjustable_quantity?: { enabled: boolean; maximum?: number; minimum?: number };
  metadata?: Record<string, string> | null;
}

/**
 * Turns line-item params into Stripe's `item` objects (creating products and prices for `price_data`,
 * as Stripe does). One-time prices with a fixed amount only: the emulator has no subscription mode.
 */
export function buildLineItems(
  ctx: EmulatorContext,
  inputs: LineItemInput[],
  param: string,
  opts: { withMetadata: boolean },
): WireLineItem[] {
  if (inputs.length === 0) throw errors.parameterMissing(param);
  if (inputs.length > 20)
    throw errors.invalidParam(param, 'A maximum of 20 line items are supported per payment link.');
  const items = inputs.map((input, i) => {
    const at = (k: string) => `${param}[${i}][${k}]`;
    if (input.price !== undefined && input.price_data !== undefined)
      throw errors.parametersExclusive([at('price'), at('price_data')]);
    if (input.quantity === undefined) throw errors.parameterMissing(at('quantity'));
    let price: WirePrice;
    if (input.price !== undefined) {
      price = requireLive<WirePrice>(ctx, 'price', input.price, 'price', at('price'), 400);
      if (!price.active) {
        throw errors.invalidParam(
          at('price'),
          `The price specified (${price.id}) is inactive. This field only accepts active prices.`,
        );
      }
    } else if (input.price_data !== undefined) {
      const { product, product_data, ...data } = input.price_data;
      if (product !== undefined && product_data !== undefined)
        throw errors.parametersExclusive([at('price_data][product'), at('price_data][product_data')]);
      let productId: string;
      if (product !== undefined) {
        productId = requireLive(
          ctx,
          PRODUCT_COLLECTION,
          product,
          'product',
          at('price_data][product'),
          400,
        ).id;
      } else if (product_data !== undefined) {
        const { tax_code, tax_details, ...rest } = product_data;
        const code = tax_details?.tax_code ?? tax_code;
        productId = createProduct(ctx, {
          ...rest,
          ...(code !== undefined || tax_details
            ? { tax_details: { tax_code: code ?? null, ...tax_details } }
            : {}),
        }).id;
      } else {
        throw errors.parameterMissing(at('price_data][product'));
      }
      price = createPrice(ctx, productId, data, at('price_data'));
    } else {
      throw errors.parameterMissing(at('price'));
    }
    if (price.type === 'recurring') {
      throw errors.invalidParam(
        at('price'),
        'The Stripe emulator supports one-time prices only here (no subscription mode).',
      );
    }
    if (price.unit_amount === null) {
      throw errors.invalidParam(
        at('price'),
        'The Stripe emulator needs prices with a fixed unit_amount here.',
      );
    }
    const product = ctx.store.collection<Stripe.Product>(PRODUCT_COLLECTION).get(price.product as string);
    const amount = price.unit_amount * input.quantity;
    const adjustable = input.adjustable_quantity;
    return {
      id: ctx.newId('li', 24),
      object: 'item',
      adjustable_quantity: adjustable
        ? {
            enabled: adjustable.enabled,
            maximum: adjustable.maximum ?? null,
            minimum: adjustable.minimum ?? null,
          }
        : null,
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency: price.currency,
      description: product?.name ?? null,
      metadata: opts.withMetadata ? applyMetadata({}, input.metadata) : null,
      price,
      quantity: input.quantity,
    } satisfies WireLineItem;
  });
  const currency = items[0]!.currency;
  if (items.some((li) => li.currency !== currency)) {
    throw errors.invalidParam(param, 'All line items must use the same currency.');
  }
  return items;
}

/** Stores the line items of a payment link or a Checkout Session. */
export function saveLineItems(ctx: EmulatorContext, ownerId: string, data: WireLineItem[]): void {
  const c = ctx.store.collection<StoredLineItems>(LINE_ITEMS_COLLECTION);
  const record: StoredLineItems = { id: ownerId, object: 'line_items', data };
  if (c.get(ownerId)) c.replace(record);
  else c.insert(record);
}

/** The line items of a payment link or a Checkout Session (empty when it has none). */
export function lineItemsOf(ctx: EmulatorContext, ownerId: string): WireLineItem[] {
  return ctx.store.collection<StoredLineItems>(LINE_ITEMS_COLLECTION).get(ownerId)?.data ?? [];
}

/** A page of line items, in the order they were given (lists of line items are not newest-first). */
export function lineItemsPage(
  ctx: RequestContext<{ limit?: number; starting_after?: string; ending_before?: string }>,
  items: WireLineItem[],
): Stripe.ApiList<WireLineItem> {
  const { limit = 10, starting_after, ending_before } = ctx.params;
  if (starting_after !== undefined && ending_before !== undefined)
    throw errors.parametersExclusive(['starting_after', 'ending_before']);
  let from = 0;
  let to = items.length;
  const cursor = starting_after ?? ending_before;
  if (cursor !== undefined) {
    const at = items.findIndex((li) => li.id === cursor);
    if (at < 0)
      throw errors.resourceMissing(
        'line item',
        cursor,
        starting_after !== undefined ? 'starting_after' : 'ending_before',
        400,
      );
    if (starting_after !== undefined) from = at + 1;
    else to = at;
  }
  const window = items.slice(from, to);
  const page =
    ending_before !== undefined ? window.slice(Math.max(0, window.length - limit)) : window.slice(0, limit);
  return { object: 'list', data: page, has_more: window.length > page.length, url: ctx.url };
}

/** `line_items` is includable (`expand[]=line_items`), not a stored field. */
export function withLineItems<T extends { id: string }>(
  ctx: RequestContext<unknown>,
  obj: T,
  listUrl: string,
): T {
  // `expand` is accepted on every route without being part of the route's own param types.
  const expand = (ctx.params as { expand?: string[] }).expand;
  if (!expand?.some((e) => e === 'line_items' || e.startsWith('line_items.'))) return obj;
  const data = lineItemsOf(ctx, obj.id);
  return { ...obj, line_items: { object: 'list', data, has_more: false, url: listUrl } };
}

const afterCompletionParam = p.object({
  type: p.enum(['hosted_confirmation', 'redirect']).required(),
  hosted_confirmation: p.object({ custom_message: p.string({ maxLength: 500 }) }),
  redirect: p.object({ url: p.string({ maxLength: 2048 }).required() }),
});

const linkLineItemParam = p.object({
  price: p.string(),
  price_data: priceDataParam,
  quantity: p.integer({ min: 0, max: 999_999 }).required(),
  adjustable_quantity: adjustableQuantityParam,
});

const createFields = {
  line_items: p.array(linkLineItemParam, { max: 20 }).required(),
  after_completion: afterCompletionParam,
  allow_promotion_codes: p.boolean(),
  billing_address_collection: p.enum(['auto', 'required']),
  currency: p.string(),
  customer_creation: p.enum(['always', 'if_required']),
  inactive_message: p.string({ maxLength: 500 }),
  metadata: p.metadata(),
  payment_intent_data: p.object({
    capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
    description: p.string({ maxLength: 1000 }),
    metadata: p.metadata(),
    setup_future_usage: p.enum(['off_session', 'on_session']),
    statement_descriptor: p.string({ maxLength: 22 }),
    statement_descriptor_suffix: p.string({ maxLength: 22 }),
    transfer_group: p.string(),
  }),
  payment_method_collection: p.enum(['always', 'if_required']),
  payment_method_types: p.array(p.enum(LINK_PAYMENT_METHOD_TYPES)),
  phone_number_collection: p.object({ enabled: p.boolean().required() }),
  restrictions: p.object({
    completed_sessions: p.object({ limit: p.integer({ min: 1, max: 10_000 }).required() }).required(),
  }),
  submit_type: p.enum(['auto', 'book', 'donate', 'pay', 'subscribe']),
};

const updateFields = {
  active: p.boolean(),
  after_completion: afterCompletionParam,
  allow_promotion_codes: p.boolean(),
  billing_address_collection: p.enum(['auto', 'required']),
  customer_creation: p.enum(['always', 'if_required']),
  inactive_message: p.string({ maxLength: 500 }).emptyable(),
  line_items: p.array(
    p.object({
      id: p.string().required(),
      quantity: p.integer({ min: 0, max: 999_999 }),
      adjustable_quantity: adjustableQuantityParam,
    }),
    { max: 20 },
  ),
  metadata: p.metadata(),
  payment_intent_data: p.object({
    description: p.string({ maxLength: 1000 }).emptyable(),
    metadata: p.metadata(),
    setup_future_usage: p.enum(['off_session', 'on_session']).emptyable(),
    statement_descriptor: p.string({ maxLength: 22 }).emptyable(),
    statement_descriptor_suffix: p.string({ maxLength: 22 }).emptyable(),
    transfer_group: p.string().emptyable(),
  }),
  payment_method_collection: p.enum(['always', 'if_required']),
  payment_method_types: p.array(p.enum(LINK_PAYMENT_METHOD_TYPES)).emptyable(),
  phone_number_collection: p.object({ enabled: p.boolean().required() }),
  restrictions: p
    .object({
      completed_sessions: p.object({ limit: p.integer({ min: 1, max: 10_000 }).required() }).required(),
    })
    .emptyable(),
  submit_type: p.enum(['auto', 'book', 'donate', 'pay', 'subscribe']),
};

type AfterCompletionInput = NonNullable<Infer<{ a: typeof afterCompletionParam }>['a']>;

function toAfterCompletion(a: AfterCompletionInput): Stripe.PaymentLink.AfterCompletion {
  if (a.type === 'redirect') {
    if (!a.redirect) throw errors.parameterMissing('after_completion[redirect]');
    if (!/^https?:\/\//.test(a.redirect.url))
      throw errors.invalidParam('after_completion[redirect][url]', 'Not a valid URL');
    return { type: 'redirect', redirect: { url: a.redirect.url } };
  }
  if (a.redirect) {
    throw errors.invalidParam(
      'after_completion[redirect]',
      'You can only pass after_completion[redirect] when after_completion[type] is redirect.',
    );
  }
  return {
    type: 'hosted_confirmation',
    hosted_confirmation: { custom_message: a.hosted_confirmation?.custom_message ?? null },
  };
}

/** A new payment link with Stripe's defaults; typed against the SDK so shape drift fails to compile. */
export function buildPaymentLink(ctx: EmulatorContext, id: string, currency: string): Stripe.PaymentLink {
  return {
    id,
    object: 'payment_link',
    active: true,
    after_completion: { type: 'hosted_confirmation', hosted_confirmation: { custom_message: null } },
    allow_promotion_codes: false,
    application: null,
    application_fee_amount: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null },
    billing_address_collection: 'auto',
    consent_collection: null,
    currency,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer_creation: 'if_required',
    inactive_message: null,
    invoice_creation: {
      enabled: false,
      invoice_data: {
        account_tax_ids: null,
        custom_fields: null,
        description: null,
        footer: null,
        issuer: null,
        metadata: {},
        rendering_options: null,
      },
    },
    livemode: false,
    managed_payments: null,
    metadata: {},
    on_behalf_of: null,
    optional_items: null,
    payment_intent_data: null,
    payment_method_collection: 'always',
    payment_method_options: null,
    payment_method_types: null,
    phone_number_collection: { enabled: false },
    restrictions: null,
    shipping_address_collection: null,
    shipping_options: [],
    submit_type: 'auto',
    subscription_data: null,
    tax_id_collection: { enabled: false, required: 'never' },
    transfer_data: null,
    url: `${ctx.baseUrl()}/pay/${id}`,
  } satisfies Stripe.PaymentLink;
}

type PaymentIntentDataInput = NonNullable<Infer<typeof updateFields>['payment_intent_data']>;

function applyPaymentIntentData(
  current: Stripe.PaymentLink.PaymentIntentData | null,
  q: PaymentIntentDataInput,
): Stripe.PaymentLink.PaymentIntentData {
  const d: Stripe.PaymentLink.PaymentIntentData = current ?? {
    capture_method: null,
    description: null,
    metadata: {},
    setup_future_usage: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    transfer_group: null,
  };
  if (q.description !== undefined) d.description = q.description;
  d.metadata = applyMetadata(d.metadata, q.metadata);
  if (q.setup_future_usage !== undefined) d.setup_future_usage = q.setup_future_usage;
  if (q.statement_descriptor !== undefined) d.statement_descriptor = q.statement_descriptor;
  if (q.statement_descriptor_suffix !== undefined)
    d.statement_descriptor_suffix = q.statement_descriptor_suffix;
  if (q.transfer_group !== undefined) d.transfer_group = q.transfer_group;
  return d;
}

/** The stored link, or a 404. */
export function requirePaymentLink(
  ctx: EmulatorContext,
  id: string,
  param = 'id',
  status = 404,
): Stripe.PaymentLink {
  return requireLive<Stripe.PaymentLink>(ctx, PAYMENT_LINK_COLLECTION, id, 'payment link', param, status);
}

/** Why a link cannot be paid right now, or null when it can. */
export function linkUnavailableReason(link: Stripe.PaymentLink): string | null {
  if (!link.active) return 'This payment link has been deactivated.';
  const r = link.restrictions?.completed_sessions;
  if (r && r.count >= r.limit) return 'This payment link has reached its limit of completed payments.';
  return null;
}

/**
 * Counts a completed session against the link's `restrictions.completed_sessions`. Stripe keeps the
 * link `active` and simply stops accepting payments once `count` reaches `limit`; no event says so.
 */
export function countCompletedSession(ctx: EmulatorContext, linkId: string): void {
  const c = ctx.store.collection<Stripe.PaymentLink>(PAYMENT_LINK_COLLECTION);
  const link = c.get(linkId);
  if (!link?.restrictions) return;
  link.restrictions.completed_sessions.count += 1;
  c.replace(link);
}

export const paymentLinks: ResourceModule = {
  name: 'payment_links',
  objects: [{ prefix: 'plink_', collection: PAYMENT_LINK_COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/payment_links',
      params: createFields,
      handler(ctx) {
        const q = ctx.params;
        const id = ctx.newId('plink', 24);
        const items = buildLineItems(ctx, q.line_items, 'line_items', { withMetadata: false });
        const currency = q.currency !== undefined ? currencyCode(q.currency) : items[0]!.currency;
        if (currency !== items[0]!.currency)
          throw errors.invalidParam('currency', 'The currency must match the currency of the line items.');
        const link = buildPaymentLink(ctx, id, currency);
        if (q.after_completion) link.after_completion = toAfterCompletion(q.after_completion);
        if (q.allow_promotion_codes !== undefined) link.allow_promotion_codes = q.allow_promotion_codes;
        if (q.billing_address_collection) link.billing_address_collection = q.billing_address_collection;
        if (q.customer_creation) link.customer_creation = q.customer_creation;
        if (q.inactive_message !== undefined) link.inactive_message = q.inactive_message;
        link.metadata = applyMetadata({}, q.metadata);
        if (q.payment_intent_data) {
          link.payment_intent_data = applyPaymentIntentData(null, q.payment_intent_data);
          link.payment_intent_data.capture_method = q.payment_intent_data.capture_method ?? null;
        }
        if (q.payment_method_collection) link.payment_method_collection = q.payment_method_collection;
        if (q.payment_method_types) link.payment_method_types = q.payment_method_types;
        if (q.phone_number_collection) link.phone_number_collection = q.phone_number_collection;
        if (q.restrictions) {
          link.restrictions = {
            completed_sessions: { count: 0, limit: q.restrictions.completed_sessions.limit },
          };
        }
        if (q.submit_type) link.submit_type = q.submit_type;
        saveLineItems(ctx, id, items);
        const saved = ctx.store.collection<Stripe.PaymentLink>(PAYMENT_LINK_COLLECTION).insert(link);
        ctx.emit('payment_link.created', saved);
        return withLineItems(ctx, saved, `/v1/payment_links/${id}/line_items`);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_links',
      params: { ...listFields, active: p.boolean() },
      handler(ctx) {
        const { active } = ctx.params;
        const items = ctx.store
          .collection<Stripe.PaymentLink>(PAYMENT_LINK_COLLECTION)
          .list((l) => active === undefined || l.active === active);
        return paginate(ctx, PAYMENT_LINK_COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_links/:id',
      params: {},
      handler(ctx) {
        const link = requirePaymentLink(ctx, ctx.path.id!);
        return withLineItems(ctx, link, `/v1/payment_links/${link.id}/line_items`);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_links/:id/line_items',
      params: listFields,
      handler(ctx) {
        const link = requirePaymentLink(ctx, ctx.path.id!);
        return lineItemsPage(ctx, lineItemsOf(ctx, link.id));
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_links/:id',
      params: updateFields,
      handler(ctx) {
        const before = requirePaymentLink(ctx, ctx.path.id!);
        const q = ctx.params;
        const after: Stripe.PaymentLink = structuredClone(before);
        if (q.active !== undefined) after.active = q.active;
        if (q.after_completion) after.after_completion = toAfterCompletion(q.after_completion);
        if (q.allow_promotion_codes !== undefined) after.allow_promotion_codes = q.allow_promotion_codes;
        if (q.billing_address_collection) after.billing_address_collection = q.billing_address_collection;
        if (q.customer_creation) after.customer_creation = q.customer_creation;
        if (q.inactive_message !== undefined) after.inactive_message = q.inactive_message;
        after.metadata = applyMetadata(after.metadata, q.metadata);
        if (q.payment_intent_data)
          after.payment_intent_data = applyPaymentIntentData(
            after.payment_intent_data,
            q.payment_intent_data,
          );
        if (q.payment_method_collection) after.payment_method_collection = q.payment_method_collection;
        if (q.payment_method_types !== undefined) after.payment_method_types = q.payment_method_types;
        if (q.phone_number_collection) after.phone_number_collection = q.phone_number_collection;
        if (q.restrictions !== undefined) {
          after.restrictions =
            q.restrictions === null
              ? null
              : {
                  completed_sessions: {
                    // Raising the limit lets a link that reached it take payments again.
                    count: before.restrictions?.completed_sessions.count ?? 0,
                    limit: q.restrictions.completed_sessions.limit,
                  },
                };
        }
        if (q.submit_type) after.submit_type = q.submit_type;
        if (q.line_items) {
          const items = lineItemsOf(ctx, before.id);
          q.line_items.forEach((change, i) => {
            const item = items.find((li) => li.id === change.id);
            if (!item) throw errors.resourceMissing('line item', change.id, `line_items[${i}][id]`, 400);
            if (change.quantity !== undefined) {
              item.quantity = change.quantity;
              const amount = (item.price?.unit_amount ?? 0) * change.quantity;
              item.amount_subtotal = amount;
              item.amount_total = amount;
            }
            if (change.adjustable_quantity) {
              const a = change.adjustable_quantity;
              item.adjustable_quantity = {
                enabled: a.enabled,
                maximum: a.maximum ?? null,
                minimum: a.minimum ?? null,
              };
            }
          });
          saveLineItems(ctx, before.id, items);
        }
        const saved = saveUpdate(ctx, PAYMENT_LINK_COLLECTION, before, after, 'payment_link.updated');
        return withLineItems(ctx, saved, `/v1/payment_links/${saved.id}/line_items`);
      },
    }),
  ],
};
