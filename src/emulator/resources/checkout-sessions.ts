/**
 * Checkout Sessions in `payment` and `setup` mode: create, retrieve, list, expire, list line items.
 * Sessions are paid on the emulator's hosted page (checkout-page.ts); the PaymentIntent is created
 * only then, as on Stripe. Open sessions expire after `expires_at` (24 h by default) with
 * `checkout.session.expired`.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import {
  adjustableQuantityParam,
  buildLineItems,
  lineItemsOf,
  lineItemsPage,
  priceDataParam,
  saveLineItems,
  type WireLineItem,
  withLineItems,
} from './payment-links.ts';
import { cancelSetupIntent, createSetupIntent } from './setup-intents.ts';
import { currencyCode, requireLive } from './shared.ts';

export const CHECKOUT_SESSION_COLLECTION = 'checkout_session';
const EXPIRE_TASK = 'checkout_session.expire';
const DAY = 86_400;

/** The payment method types the emulator's checkout page can collect. */
const COLLECTABLE = ['card', 'sepa_debit'] as const;

/** Checkout Session create's allowed/excluded payment method types (SessionCreateParams). */
const SESSION_PAYMENT_METHOD_TYPES = [
  'acss_debit',
  'affirm',
  'afterpay_clearpay',
  'alipay',
  'alma',
  'amazon_pay',
  'au_becs_debit',
  'bacs_debit',
  'bancontact',
  'billie',
  'bizum',
  'blik',
  'boleto',
  'card',
  'cashapp',
  'crypto',
  'customer_balance',
  'eps',
  'fpx',
  'giropay',
  'grabpay',
  'ideal',
  'kakao_pay',
  'klarna',
  'konbini',
  'kr_card',
  'link',
  'mb_way',
  'mobilepay',
  'multibanco',
  'naver_pay',
  'nz_bank_account',
  'oxxo',
  'p24',
  'pay_by_bank',
  'payco',
  'paynow',
  'paypal',
  'paypay',
  'payto',
  'pix',
  'promptpay',
  'revolut_pay',
  'samsung_pay',
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

/**
 * Create params. `payment_method_types` is deliberately absent: API 2026-09-30.endive removed it from
 * Checkout Session create, so it is a `parameter_unknown` 400 like any other unknown name.
 */
const createFields = {
  mode: p.enum(['payment', 'setup', 'subscription']).required(),
  allowed_payment_method_types: p.array(p.enum(SESSION_PAYMENT_METHOD_TYPES)),
  billing_address_collection: p.enum(['auto', 'required']),
  cancel_url: p.string({ maxLength: 5000 }),
  client_reference_id: p.string({ maxLength: 200 }),
  currency: p.string(),
  customer: p.string(),
  customer_creation: p.enum(['always', 'if_required']),
  customer_email: p.string({ maxLength: 800 }),
  excluded_payment_method_types: p.array(p.enum(SESSION_PAYMENT_METHOD_TYPES)),
  expires_at: p.integer(),
  line_items: p.array(
    p.object({
      price: p.string(),
      price_data: priceDataParam,
      quantity: p.integer({ min: 0, max: 999_999 }),
      adjustable_quantity: adjustableQuantityParam,
      metadata: p.metadata(),
    }),
    { max: 100 },
  ),
  locale: p.string(),
  metadata: p.metadata(),
  payment_intent_data: p.object({
    capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
    description: p.string({ maxLength: 1000 }),
    metadata: p.metadata(),
    receipt_email: p.string(),
    setup_future_usage: p.enum(['off_session', 'on_session']),
    statement_descriptor: p.string({ maxLength: 22 }),
    statement_descriptor_suffix: p.string({ maxLength: 22 }),
    transfer_group: p.string(),
  }),
  payment_method_collection: p.enum(['always', 'if_required']),
  phone_number_collection: p.object({ enabled: p.boolean().required() }),
  setup_intent_data: p.object({ description: p.string({ maxLength: 1000 }), metadata: p.metadata() }),
  submit_type: p.enum(['auto', 'book', 'donate', 'pay', 'subscribe']),
  success_url: p.string({ maxLength: 5000 }),
  ui_mode: p.enum(['elements', 'embedded_page', 'form', 'hosted_page']),
};
type CreateParams = Infer<typeof createFields>;

/** What the hosted page needs besides the session: the payment_intent_data to create the PI from. */
export interface SessionExtras {
  id: string;
  payment_intent_data: {
    description: string | null;
    metadata: Record<string, string>;
    setup_future_usage: 'off_session' | 'on_session' | null;
  };
}
const EXTRAS_COLLECTION = 'checkout_session_extras';

/** A new open session with Stripe's defaults; typed against the SDK so shape drift fails to compile. */
function buildSession(
  ctx: EmulatorContext,
  id: string,
  mode: 'payment' | 'setup',
  currency: string | null,
  paymentMethodTypes: string[],
): Stripe.Checkout.Session {
  return {
    id,
    object: 'checkout.session',
    adaptive_pricing: mode === 'payment' ? { enabled: false } : null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: null,
    amount_total: null,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: null,
    client_reference_id: null,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: ctx.now(),
    currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: null,
    customer_account: null,
    customer_creation: null,
    customer_details: null,
    customer_email: null,
    discounts: [],
    expires_at: ctx.now() + DAY,
    integration_identifier: null,
    invoice: null,
    invoice_creation:
      mode === 'payment'
        ? {
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
          }
        : null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: {},
    mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: mode === 'payment' ? 'if_required' : 'always',
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: paymentMethodTypes,
    payment_status: mode === 'payment' ? 'unpaid' : 'no_payment_required',
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: mode === 'payment' ? 'auto' : null,
    subscription: null,
    success_url: null,
    total_details: mode === 'payment' ? { amount_discount: 0, amount_shipping: 0, amount_tax: 0 } : null,
    ui_mode: 'hosted_page',
    url: `${ctx.baseUrl()}/c/pay/${id}`,
    wallet_options: null,
  } satisfies Stripe.Checkout.Session;
}

/**
 * The payment method types the session offers: what the caller allowed (or all the emulator can
 * collect), minus exclusions, and SEPA Direct Debit only for euros, as Stripe's dynamic selection does.
 */
function offeredTypes(
  currency: string | null,
  allowed: readonly string[] | null | undefined,
  excluded: readonly string[] | undefined,
  param: string,
): string[] {
  const types = COLLECTABLE.filter(
    (t) =>
      (!allowed || allowed.includes(t)) &&
      !excluded?.includes(t) &&
      (t !== 'sepa_debit' || currency === null || currency === 'eur'),
  );
  if (types.length === 0) {
    throw errors.invalidParam(
      param,
      'None of the requested payment method types can be used for this Checkout Session. The Stripe emulator collects card and sepa_debit (EUR) only.',
    );
  }
  return types;
}

function sessions(ctx: EmulatorContext) {
  return ctx.store.collection<Stripe.Checkout.Session>(CHECKOUT_SESSION_COLLECTION);
}

/** Stores a new session with its line items and extras, schedules its expiry. No event: Stripe has none. */
function insertSession(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  items: WireLineItem[],
  extras: SessionExtras,
): Stripe.Checkout.Session {
  if (items.length) saveLineItems(ctx, session.id, items);
  ctx.store.collection<SessionExtras>(EXTRAS_COLLECTION).insert(extras);
  const saved = sessions(ctx).insert(session);
  ctx.schedule(session.expires_at, EXPIRE_TASK, { id: session.id });
  return saved;
}

function amountOf(items: WireLineItem[]): number {
  return items.reduce((sum, li) => sum + li.amount_total, 0);
}

function createFromParams(ctx: EmulatorContext, q: CreateParams): Stripe.Checkout.Session {
  if (q.mode === 'subscription') {
    throw errors.invalidParam(
      'mode',
      'The Stripe emulator supports Checkout in payment and setup mode only.',
    );
  }
  if (q.ui_mode !== undefined && q.ui_mode !== 'hosted_page') {
    throw errors.invalidParam('ui_mode', 'The Stripe emulator serves hosted_page Checkout only.');
  }
  if (q.customer !== undefined && q.customer_email !== undefined)
    throw errors.parametersExclusive(['customer', 'customer_email']);
  if (q.allowed_payment_method_types !== undefined && q.excluded_payment_method_types !== undefined)
    throw errors.parametersExclusive(['allowed_payment_method_types', 'excluded_payment_method_types']);
  if (q.customer !== undefined) requireLive(ctx, 'customer', q.customer, 'customer', 'customer', 400);
  for (const key of ['success_url', 'cancel_url'] as const) {
    const url = q[key];
    if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) throw errors.invalidParam(key, 'Not a valid URL');
  }
  const id = ctx.newId('cs_test', 58);
  let session: Stripe.Checkout.Session;
  let items: WireLineItem[] = [];
  if (q.mode === 'payment') {
    if (q.setup_intent_data) {
      throw errors.invalidParam('setup_intent_data', 'You can only pass setup_intent_data in setup mode.');
    }
    if (!q.line_items) throw errors.parameterMissing('line_items');
    items = buildLineItems(ctx, q.line_items, 'line_items', { withMetadata: true });
    const currency = items[0]!.currency;
    if (q.currency !== undefined && currencyCode(q.currency) !== currency) {
      throw errors.invalidParam('currency', 'The currency must match the currency of the line items.');
    }
    const types = offeredTypes(
      currency,
      q.allowed_payment_method_types,
      q.excluded_payment_method_types,
      'allowed_payment_method_types',
    );
    session = buildSession(ctx, id, 'payment', currency, types);
    session.amount_subtotal = amountOf(items);
    session.amount_total = amountOf(items);
    session.customer_creation = q.customer !== undefined ? null : (q.customer_creation ?? 'if_required');
    if (q.submit_type) session.submit_type = q.submit_type;
    if (q.payment_method_collection) session.payment_method_collection = q.payment_method_collection;
  } else {
    if (q.line_items) throw errors.invalidParam('line_items', 'You cannot pass line_items in setup mode.');
    if (q.payment_intent_data) {
      throw errors.invalidParam(
        'payment_intent_data',
        'You can only pass payment_intent_data in payment mode.',
      );
    }
    if (q.customer_creation !== undefined) {
      throw errors.invalidParam('customer_creation', 'customer_creation can only be used in payment mode.');
    }
    // Without payment_method_types (gone in endive), setup mode needs a currency to pick methods by.
    if (q.currency === undefined) {
      throw errors.invalidParam(
        'currency',
        'Missing required param: currency. You must provide currency when using setup mode with dynamic payment methods.',
        'parameter_missing',
      );
    }
    const currency = currencyCode(q.currency);
    const types = offeredTypes(
      currency,
      q.allowed_payment_method_types,
      q.excluded_payment_method_types,
      'allowed_payment_method_types',
    );
    session = buildSession(ctx, id, 'setup', currency, types);
  }
  if (q.expires_at !== undefined) {
    const now = ctx.now();
    if (q.expires_at < now + 30 * 60 || q.expires_at > now + DAY) {
      throw errors.invalidParam(
        'expires_at',
        'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.',
      );
    }
    session.expires_at = q.expires_at;
  }
  session.allowed_payment_method_types = q.allowed_payment_method_types ?? null;
  if (q.excluded_payment_method_types)
    session.excluded_payment_method_types = q.excluded_payment_method_types;
  if (q.billing_address_collection) session.billing_address_collection = q.billing_address_collection;
  session.cancel_url = q.cancel_url ?? null;
  session.client_reference_id = q.client_reference_id ?? null;
  session.customer = q.customer ?? null;
  session.customer_email = q.customer_email ?? null;
  session.locale = q.locale ?? null;
  session.metadata = applyMetadata({}, q.metadata);
  if (q.phone_number_collection) session.phone_number_collection = q.phone_number_collection;
  session.success_url = q.success_url ?? null;
  if (session.customer) {
    session.saved_payment_method_options = {
      allow_redisplay_filters: ['always'],
      payment_method_remove: 'disabled',
      payment_method_save: null,
    };
  }
  if (q.mode === 'setup') {
    const si = createSetupIntent(ctx, {
      customer: session.customer as string | null,
      description: q.setup_intent_data?.description,
      metadata: q.setup_intent_data?.metadata,
      paymentMethodTypes: session.payment_method_types,
    });
    session.setup_intent = si.id;
  }
  const pid = q.payment_intent_data;
  return insertSession(ctx, session, items, {
    id,
    payment_intent_data: {
      description: pid?.description ?? null,
      metadata: applyMetadata({}, pid?.metadata),
      setup_future_usage: pid?.setup_future_usage ?? null,
    },
  });
}

/**
 * Opens a session for a payment link, as Stripe does when a buyer opens the link: `payment_link` set,
 * the link's metadata copied to the session (and only its `payment_intent_data.metadata` to the PI).
 */
export function createSessionForLink(
  ctx: EmulatorContext,
  link: Stripe.PaymentLink,
): Stripe.Checkout.Session {
  const linkItems = lineItemsOf(ctx, link.id);
  const items = linkItems.map((li) => ({ ...li, id: ctx.newId('li', 24) }));
  const id = ctx.newId('cs_test', 58);
  const types = link.payment_method_types
    ? offeredTypes(link.currency, link.payment_method_types, undefined, 'payment_method_types')
    : offeredTypes(link.currency, null, undefined, 'payment_method_types');
  const session = buildSession(ctx, id, 'payment', link.currency, types);
  session.amount_subtotal = amountOf(items);
  session.amount_total = amountOf(items);
  session.customer_creation = link.customer_creation;
  session.billing_address_collection = link.billing_address_collection;
  session.metadata = { ...link.metadata };
  session.payment_link = link.id;
  session.payment_method_collection = link.payment_method_collection;
  session.phone_number_collection = link.phone_number_collection;
  session.submit_type = link.submit_type;
  session.allow_promotion_codes = link.allow_promotion_codes;
  if (link.after_completion.type === 'redirect' && link.after_completion.redirect) {
    session.success_url = link.after_completion.redirect.url;
  }
  const pid = link.payment_intent_data;
  return insertSession(ctx, session, items, {
    id,
    payment_intent_data: {
      description: pid?.description ?? null,
      metadata: { ...(pid?.metadata ?? {}) },
      setup_future_usage: (pid?.setup_future_usage as 'off_session' | 'on_session' | null) ?? null,
    },
  });
}

/** The extras stored with a session. */
export function sessionExtras(ctx: EmulatorContext, id: string): SessionExtras {
  return ctx.store.collection<SessionExtras>(EXTRAS_COLLECTION).get(id)!;
}

/** The session, or a 404 (`No such checkout.session`). */
export function requireSession(ctx: EmulatorContext, id: string): Stripe.Checkout.Session {
  return requireLive<Stripe.Checkout.Session>(ctx, CHECKOUT_SESSION_COLLECTION, id, 'checkout.session');
}

/** Stores a changed session without an event (the caller emits the one that fits). */
export function saveSession(ctx: EmulatorContext, session: Stripe.Checkout.Session): Stripe.Checkout.Session {
  return sessions(ctx).replace(session);
}

/** Expires an open session (`checkout.session.expired`); a setup-mode session's SetupIntent is canceled. */
function expireSession(ctx: EmulatorContext, id: string): Stripe.Checkout.Session {
  const session = requireSession(ctx, id);
  if (session.status !== 'open') {
    throw errors.invalidParam(
      undefined,
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    );
  }
  const saved = saveSession(ctx, { ...session, status: 'expired', url: null });
  if (typeof saved.setup_intent === 'string') cancelSetupIntent(ctx, saved.setup_intent, 'abandoned');
  ctx.emit('checkout.session.expired', saved);
  return saved;
}

const listParams = {
  ...listFields,
  created: p.range(),
  customer: p.string(),
  customer_details: p.object({ email: p.string().required() }),
  payment_intent: p.string(),
  payment_link: p.string(),
  status: p.enum(['complete', 'expired', 'open']),
  subscription: p.string(),
};

export const checkoutSessions: ResourceModule = {
  name: 'checkout_sessions',
  objects: [{ prefix: 'cs_', collection: CHECKOUT_SESSION_COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/checkout/sessions',
      params: createFields,
      handler(ctx) {
        const session = createFromParams(ctx, ctx.params);
        return withLineItems(ctx, session, `/v1/checkout/sessions/${session.id}/line_items`);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/checkout/sessions',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const items = sessions(ctx).list(
          (s) =>
            (q.customer === undefined || s.customer === q.customer) &&
            (q.customer_details === undefined || s.customer_details?.email === q.customer_details.email) &&
            (q.payment_intent === undefined || s.payment_intent === q.payment_intent) &&
            (q.payment_link === undefined || s.payment_link === q.payment_link) &&
            (q.status === undefined || s.status === q.status) &&
            (q.subscription === undefined || s.subscription === q.subscription) &&
            inRange(s.created, q.created),
        );
        return paginate(ctx, CHECKOUT_SESSION_COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/checkout/sessions/:id',
      params: {},
      handler(ctx) {
        const session = requireSession(ctx, ctx.path.id!);
        return withLineItems(ctx, session, `/v1/checkout/sessions/${session.id}/line_items`);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/checkout/sessions/:id/line_items',
      params: listFields,
      handler(ctx) {
        const session = requireSession(ctx, ctx.path.id!);
        return lineItemsPage(ctx, lineItemsOf(ctx, session.id));
      },
    }),
    route({
      method: 'POST',
      path: '/v1/checkout/sessions/:id/expire',
      params: {},
      handler(ctx) {
        return expireSession(ctx, ctx.path.id!);
      },
    }),
  ],
  tasks: {
    [EXPIRE_TASK](ctx, payload) {
      const { id } = payload as { id: string };
      const session = sessions(ctx).get(id);
      if (session?.status === 'open' && session.expires_at <= ctx.now()) expireSession(ctx, id);
    },
  },
};
