/**
 * Subscriptions: create with a first invoice (prorated stub for a future billing_cycle_anchor),
 * renewals on calendar periods anchored to the billing day (month-end clamped), automatic charging,
 * failed payments → retries → past_due → canceled, cancel_at, cancel, update, list.
 *
 * Choices where Stripe is configurable or undocumented:
 * - `customer.subscription.created` is sent with status `incomplete` before the first invoice's
 *   events; when that invoice is paid, `customer.subscription.updated` moves it to `active`.
 * - Renewal: `customer.subscription.updated` (new period), `invoice.created` (draft), finalized and
 *   charged one hour later, as Stripe does for subscription_cycle invoices.
 * - Failed renewal: `past_due` at the first failure; retries 3, 5 and 7 days after the previous
 *   attempt (billing-internal RETRY_DELAYS_DAYS); when the last retry fails the subscription is
 *   canceled (Stripe's default "cancel the subscription"), the invoice stays open.
 * - A first invoice left unpaid expires the subscription after 23 hours (`incomplete_expired`).
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { Wire } from '../wire.ts';
import {
  closeInvoice,
  createDraftInvoice,
  finalizeInvoice,
  INVOICE,
  type Invoice,
  type LineInput,
  onInvoicePaid,
  onInvoicePaymentFailed,
  type PaymentMethodType,
} from './billing-internal.ts';
import { PAYMENT_METHOD_TYPES } from './invoices.ts';
import { createPrice } from './prices.ts';
import { requireLive } from './shared.ts';

export const SUBSCRIPTION = 'subscription';
const SUB_STATE = 'billing_subscription_state';
const HOUR = 3600;

export type Subscription = Wire<Stripe.Subscription>;
type WirePrice = Wire<Stripe.Price>;
type Interval = 'day' | 'week' | 'month' | 'year';

interface SubState {
  id: string;
  /** Anchor of the billing cycle: periods are `anchor + n intervals` (months clamped to month end). */
  anchor: number;
  interval: Interval;
  interval_count: number;
  /** Index of the current period relative to the anchor (-1 = the prorated stub before it). */
  period_index: number;
  renew_task: string | null;
  cancel_task: string | null;
  expire_task: string | null;
  proration_behavior: 'create_prorations' | 'none' | 'always_invoice';
}

/** `start` plus `n` intervals; months keep the anchor's day, clamped to the month's last day. */
export function addIntervals(start: number, interval: Interval, count: number): number {
  const d = new Date(start * 1000);
  if (interval === 'day') return start + count * 86_400;
  if (interval === 'week') return start + count * 7 * 86_400;
  const months = interval === 'year' ? count * 12 : count;
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(d.getUTCDate(), lastDay);
  return Date.UTC(y, m, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}

function stateOf(ctx: EmulatorContext, id: string): SubState {
  return ctx.store.collection<SubState>(SUB_STATE).get(id)!;
}
function saveState(ctx: EmulatorContext, s: SubState): void {
  const c = ctx.store.collection<SubState>(SUB_STATE);
  if (c.get(s.id)) c.replace(s);
  else c.insert(s);
}

function periodBounds(s: SubState, index: number): { start: number; end: number } {
  const step = s.interval_count;
  return {
    start: addIntervals(s.anchor, s.interval, index * step),
    end: addIntervals(s.anchor, s.interval, (index + 1) * step),
  };
}

const itemParam = p.object({
  metadata: p.metadata(),
  price: p.string(),
  price_data: p.object({
    currency: p.string().required(),
    product: p.string().required(),
    recurring: p
      .object({
        interval: p.enum(['day', 'week', 'month', 'year']).required(),
        interval_count: p.integer({ min: 1 }),
      })
      .required(),
    tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
    unit_amount: p.integer({ min: 0 }),
    unit_amount_decimal: p.decimal(),
  }),
  quantity: p.integer({ min: 0 }),
});

const subPaymentSettings = p.object({
  payment_method_options: p.object({
    card: p.object({ request_three_d_secure: p.enum(['any', 'automatic', 'challenge']) }).emptyable(),
    customer_balance: p
      .object({
        bank_transfer: p.object({
          eu_bank_transfer: p.object({ country: p.enum(['BE', 'DE', 'ES', 'FR', 'IE', 'NL']).required() }),
          type: p.enum(['eu_bank_transfer']),
        }),
        funding_type: p.enum(['bank_transfer']),
      })
      .emptyable(),
    sepa_debit: p.object({}).emptyable(),
  }),
  payment_method_types: p.array(p.enum(PAYMENT_METHOD_TYPES)).emptyable(),
  save_default_payment_method: p.enum(['off', 'on_subscription']),
});

export const subscriptionCreateFields = {
  billing_cycle_anchor: p.integer(),
  cancel_at: p.integer(),
  cancel_at_period_end: p.boolean(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  currency: p.string(),
  customer: p.string().required(),
  days_until_due: p.integer({ min: 0 }),
  default_payment_method: p.string(),
  description: p.string({ maxLength: 500 }),
  items: p.array(itemParam, { max: 20 }),
  metadata: p.metadata(),
  off_session: p.boolean(),
  payment_behavior: p.enum([
    'allow_incomplete',
    'default_incomplete',
    'error_if_incomplete',
    'pending_if_incomplete',
  ]),
  payment_settings: subPaymentSettings,
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
};
export type SubscriptionInput = Infer<typeof subscriptionCreateFields>;
type ItemInput = Infer<{ item: typeof itemParam }>['item'];

function resolvePrice(ctx: EmulatorContext, item: NonNullable<ItemInput>, i: number): WirePrice {
  if (item.price !== undefined && item.price_data !== undefined)
    throw errors.parametersExclusive([`items[${i}][price]`, `items[${i}][price_data]`]);
  if (item.price !== undefined) {
    const price = requireLive<WirePrice>(ctx, 'price', item.price, 'price', `items[${i}][price]`, 400);
    if (price.type !== 'recurring' || !price.recurring) {
      throw errors.invalidParam(
        `items[${i}][price]`,
        'The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.',
      );
    }
    return price;
  }
  if (item.price_data !== undefined) {
    const d = item.price_data;
    requireLive(ctx, 'product', d.product, 'product', `items[${i}][price_data][product]`, 400);
    return createPrice(
      ctx,
      d.product,
      {
        currency: d.currency,
        ...(d.unit_amount !== undefined ? { unit_amount: d.unit_amount } : {}),
        ...(d.unit_amount_decimal !== undefined ? { unit_amount_decimal: d.unit_amount_decimal } : {}),
        recurring: {
          interval: d.recurring.interval,
          ...(d.recurring.interval_count ? { interval_count: d.recurring.interval_count } : {}),
        },
        active: false,
      },
      `items[${i}][price_data]`,
    );
  }
  throw errors.parameterMissing(`items[${i}][price]`);
}

function planOf(price: WirePrice): Wire<Stripe.Plan> {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: 'per_unit',
    created: price.created,
    currency: price.currency,
    interval: price.recurring!.interval,
    interval_count: price.recurring!.interval_count,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product as string,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  } satisfies Wire<Stripe.Plan>;
}

function productName(ctx: EmulatorContext, id: string): string {
  return ctx.store.collection<Stripe.Product>('product').get(id)?.name ?? id;
}

function lineFor(
  ctx: EmulatorContext,
  sub: Subscription,
  item: Subscription['items']['data'][number],
  period: { start: number; end: number },
  fraction: number,
): LineInput {
  const unit = item.price.unit_amount ?? 0;
  const qty = item.quantity ?? 1;
  const full = unit * qty;
  const amount = fraction === 1 ? full : Math.round(full * fraction);
  const name = productName(ctx, item.price.product as string);
  return {
    amount,
    currency: item.price.currency,
    description:
      fraction === 1
        ? `${qty} × ${name}`
        : `Remaining time on ${qty} × ${name} until ${new Date(period.end * 1000).toISOString().slice(0, 10)}`,
    period,
    price: item.price.id,
    product: item.price.product as string,
    quantity: qty,
    unitAmountDecimal: item.price.unit_amount_decimal,
    subscription: sub.id,
    subscriptionItem: item.id,
    proration: fraction !== 1,
  };
}

function emitSub(ctx: EmulatorContext, type: string, sub: Subscription, previous?: Record<string, unknown>) {
  ctx.emit(type, sub, previous);
}

function saveSub(ctx: EmulatorContext, before: Subscription, after: Subscription): Subscription {
  const previous = previousAttributes(before, after);
  const saved = ctx.store.collection<Subscription>(SUBSCRIPTION).replace(after);
  if (previous) emitSub(ctx, 'customer.subscription.updated', saved, previous);
  return saved;
}

function customerOf(ctx: EmulatorContext, id: string): Stripe.Customer {
  return requireLive<Stripe.Customer>(ctx, 'customer', id, 'customer', 'customer', 400);
}

/** Creates and invoices one period (or stub) of a subscription. */
function invoicePeriod(
  ctx: EmulatorContext,
  sub: Subscription,
  reason: 'subscription_create' | 'subscription_cycle',
  period: { start: number; end: number },
  fraction: number,
  finalizeNow: boolean,
): Invoice {
  const customer = customerOf(ctx, sub.customer as string);
  const types = sub.payment_settings?.payment_method_types as PaymentMethodType[] | null | undefined;
  const country = sub.payment_settings?.payment_method_options?.customer_balance?.bank_transfer
    ?.eu_bank_transfer?.country as string | undefined;
  const draft = createDraftInvoice(ctx, {
    customer,
    collection_method: sub.collection_method as 'charge_automatically' | 'send_invoice',
    ...(sub.collection_method === 'send_invoice' ? { days_until_due: sub.days_until_due ?? 30 } : {}),
    auto_advance: true,
    ...(finalizeNow ? {} : { automatically_finalizes_at: ctx.now() + HOUR }),
    currency: sub.currency,
    description: sub.description,
    payment_method_types: types ?? null,
    customer_balance_country: country,
    billing_reason: reason,
    subscription: { id: sub.id, metadata: sub.metadata },
    period,
    lines: sub.items.data.map((it) => lineFor(ctx, sub, it, period, fraction)),
  });
  const cur = ctx.store.collection<Subscription>(SUBSCRIPTION).get(sub.id)!;
  ctx.store.collection<Subscription>(SUBSCRIPTION).replace({ ...cur, latest_invoice: draft.id });
  if (!finalizeNow) return draft;
  return finalizeInvoice(ctx, draft.id);
}

/** Creates a subscription (shared with subscription schedules, which pass `schedule`). */
export function createSubscription(
  ctx: EmulatorContext,
  q: SubscriptionInput,
  opts: { schedule?: string } = {},
): Subscription {
  const customer = customerOf(ctx, q.customer);
  if (!q.items?.length) throw errors.parameterMissing('items');
  for (const b of ['error_if_incomplete', 'pending_if_incomplete'] as const) {
    if (q.payment_behavior === b) {
      throw errors.invalidParam('payment_behavior', `The emulator does not emulate payment_behavior=${b}.`);
    }
  }
  const prices = q.items.map((it, i) => resolvePrice(ctx, it, i));
  const first = prices[0]!;
  const interval = first.recurring!.interval as Interval;
  const intervalCount = first.recurring!.interval_count;
  const currency = first.currency;
  prices.forEach((pr, i) => {
    if (pr.recurring!.interval !== interval || pr.recurring!.interval_count !== intervalCount)
      throw errors.invalidParam(
        `items[${i}]`,
        'All prices on a subscription must have the same recurring interval.',
      );
    if (pr.currency !== currency)
      throw errors.invalidParam(`items[${i}]`, 'All prices on a subscription must have the same currency.');
  });
  const method = q.collection_method ?? 'charge_automatically';
  if (method === 'charge_automatically' && q.days_until_due !== undefined)
    throw errors.invalidParam(
      'days_until_due',
      '`days_until_due` is only valid with `collection_method=send_invoice`.',
    );
  const now = ctx.now();
  const naturalEnd = addIntervals(now, interval, intervalCount);
  let anchor = now;
  let stub = false;
  if (q.billing_cycle_anchor !== undefined && q.billing_cycle_anchor !== now) {
    if (q.billing_cycle_anchor < now)
      throw errors.invalidParam('billing_cycle_anchor', '`billing_cycle_anchor` cannot be in the past.');
    if (q.billing_cycle_anchor > naturalEnd) {
      throw errors.invalidParam(
        'billing_cycle_anchor',
        `\`billing_cycle_anchor\` cannot be later than next natural billing date (${naturalEnd}) for plan`,
      );
    }
    anchor = q.billing_cycle_anchor;
    stub = anchor !== naturalEnd;
    if (!stub) anchor = naturalEnd;
  }
  if (q.cancel_at !== undefined && q.cancel_at <= now)
    throw errors.invalidParam('cancel_at', '`cancel_at` must be in the future.');
  const id = ctx.newId('sub', 24);
  const firstPeriod = stub || anchor !== now ? { start: now, end: anchor } : { start: now, end: naturalEnd };
  const state: SubState = {
    id,
    anchor,
    interval,
    interval_count: intervalCount,
    period_index: anchor === now ? 0 : -1,
    renew_task: null,
    cancel_task: null,
    expire_task: null,
    proration_behavior: q.proration_behavior ?? 'create_prorations',
  };
  const pmTypes = q.payment_settings?.payment_method_types ?? null;
  const country =
    q.payment_settings?.payment_method_options?.customer_balance?.bank_transfer?.eu_bank_transfer?.country;
  const cancelAt = q.cancel_at ?? null;
  const periodEnd = cancelAt !== null ? Math.min(firstPeriod.end, cancelAt) : firstPeriod.end;
  const sub: Subscription = {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: now },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: cancelAt,
    cancel_at_period_end: q.cancel_at_period_end ?? false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: method,
    created: now,
    currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: method === 'send_invoice' ? (q.days_until_due ?? 30) : null,
    default_payment_method: q.default_payment_method ?? null,
    default_source: null,
    default_tax_rates: [],
    description: q.description ?? null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    items: {
      object: 'list',
      data: q.items.map((it, i) => ({
        id: ctx.newId('si', 14),
        object: 'subscription_item',
        billing_thresholds: null,
        created: now,
        current_period_end: periodEnd,
        current_period_start: firstPeriod.start,
        current_trial: null,
        discounts: [],
        metadata: applyMetadata({}, it.metadata),
        plan: planOf(prices[i]!),
        price: prices[i]!,
        quantity: it.quantity ?? 1,
        subscription: id,
        tax_rates: [],
      })),
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: applyMetadata({}, q.metadata),
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: country
        ? {
            acss_debit: null,
            bancontact: null,
            card: null,
            customer_balance: {
              bank_transfer: { type: 'eu_bank_transfer', eu_bank_transfer: { country } },
              funding_type: 'bank_transfer',
            },
            konbini: null,
            payto: null,
            pix: null,
            sepa_debit: null,
            upi: null,
            us_bank_account: null,
          }
        : null,
      payment_method_types: pmTypes,
      save_default_payment_method: q.payment_settings?.save_default_payment_method ?? 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: opts.schedule ?? null,
    start_date: now,
    status: 'incomplete',
    test_clock: customer.test_clock as string | null,
    transfer_data: null,
    trial_end: null,
    trial_settings: {
      end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
    },
    trial_start: null,
  } satisfies Subscription;
  ctx.store.collection<Subscription>(SUBSCRIPTION).insert(sub);
  if (cancelAt !== null) state.cancel_task = ctx.schedule(cancelAt, 'subscription.cancel_at', { id });
  if (cancelAt === null || periodEnd < cancelAt)
    state.renew_task = ctx.schedule(periodEnd, 'subscription.renew', { id });
  saveState(ctx, state);
  emitSub(ctx, 'customer.subscription.created', sub);

  const fullLength = stub
    ? anchor - addIntervals(anchor, interval, -intervalCount)
    : firstPeriod.end - firstPeriod.start;
  let fraction = (periodEnd - firstPeriod.start) / fullLength;
  if (stub && state.proration_behavior === 'none') fraction = 0;
  const inv = invoicePeriod(
    ctx,
    sub,
    'subscription_create',
    { start: firstPeriod.start, end: periodEnd },
    fraction,
    true,
  );
  const after = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id)!;
  if (after.status === 'incomplete') {
    if (method === 'send_invoice') {
      activate(ctx, id);
    } else if (inv.status === 'open') {
      state.expire_task = ctx.schedule(now + 23 * HOUR, 'subscription.expire_incomplete', { id });
      saveState(ctx, state);
    }
  }
  return ctx.store.collection<Subscription>(SUBSCRIPTION).get(id)!;
}

function activate(ctx: EmulatorContext, id: string): void {
  const before = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id)!;
  if (before.status === 'active' || before.status === 'canceled' || before.status === 'incomplete_expired')
    return;
  saveSub(ctx, before, { ...before, status: 'active' });
}

/** Ends a subscription now: `customer.subscription.deleted`. */
export function endSubscription(
  ctx: EmulatorContext,
  id: string,
  reason: Stripe.Subscription.CancellationDetails.Reason | null,
  extra: Partial<Subscription> = {},
): Subscription {
  const before = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id)!;
  const s = stateOf(ctx, id);
  for (const t of [s.renew_task, s.cancel_task, s.expire_task]) if (t) ctx.cancelTask(t);
  s.renew_task = s.cancel_task = s.expire_task = null;
  saveState(ctx, s);
  const now = ctx.now();
  const after: Subscription = {
    ...before,
    status: 'canceled',
    canceled_at: before.canceled_at ?? now,
    ended_at: now,
    cancellation_details: {
      ...(before.cancellation_details ?? { comment: null, feedback: null, feedback_option: null }),
      reason,
    } as Subscription['cancellation_details'],
    ...extra,
  };
  const saved = ctx.store.collection<Subscription>(SUBSCRIPTION).replace(after);
  emitSub(ctx, 'customer.subscription.deleted', saved, previousAttributes(before, saved));
  for (const l of endListeners) l(ctx, saved);
  return saved;
}

const endListeners: Array<(ctx: EmulatorContext, sub: Subscription) => void> = [];
/** Called after a subscription ended (schedules complete on it). */
export function onSubscriptionEnded(l: (ctx: EmulatorContext, sub: Subscription) => void): void {
  endListeners.push(l);
}

/** Moves to the next period and invoices it. */
function renew(ctx: EmulatorContext, id: string): void {
  const before = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id);
  if (!before || ['canceled', 'incomplete_expired', 'incomplete'].includes(before.status)) return;
  const s = stateOf(ctx, id);
  s.renew_task = null;
  if (before.cancel_at_period_end) {
    saveState(ctx, s);
    endSubscription(ctx, id, 'cancellation_requested');
    return;
  }
  s.period_index += 1;
  const natural = periodBounds(s, s.period_index);
  const end = before.cancel_at !== null ? Math.min(natural.end, before.cancel_at) : natural.end;
  const after: Subscription = structuredClone(before);
  for (const it of after.items.data) {
    it.current_period_start = natural.start;
    it.current_period_end = end;
  }
  if (before.cancel_at === null || end < before.cancel_at)
    s.renew_task = ctx.schedule(end, 'subscription.renew', { id });
  saveState(ctx, s);
  const saved = saveSub(ctx, before, after);
  const fraction =
    end === natural.end || s.proration_behavior === 'none'
      ? 1
      : (end - natural.start) / (natural.end - natural.start);
  invoicePeriod(ctx, saved, 'subscription_cycle', { start: natural.start, end }, fraction, false);
}

onInvoicePaid((ctx, inv) => {
  const subId = inv.parent?.subscription_details?.subscription as string | undefined;
  if (!subId) return;
  const s = ctx.store.collection<SubState>(SUB_STATE).get(subId);
  if (s?.expire_task) {
    ctx.cancelTask(s.expire_task);
    s.expire_task = null;
    saveState(ctx, s);
  }
  const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId);
  if (!sub || !['incomplete', 'past_due', 'unpaid'].includes(sub.status)) return;
  // Only when no other invoice of the subscription is still open.
  const stillOpen = ctx.store
    .collection<Invoice>(INVOICE)
    .list((i) => i.parent?.subscription_details?.subscription === subId && i.status === 'open');
  if (stillOpen.length === 0) activate(ctx, subId);
});

onInvoicePaymentFailed((ctx, inv, exhausted) => {
  const subId = inv.parent?.subscription_details?.subscription as string | undefined;
  if (!subId) return;
  const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId);
  if (!sub) return;
  if (sub.status === 'active') saveSub(ctx, sub, { ...sub, status: 'past_due' });
  if (
    exhausted &&
    ['past_due', 'active'].includes(ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId)!.status)
  ) {
    endSubscription(ctx, subId, 'payment_failed');
  }
});

const updateFields = {
  cancel_at: p.integer().emptyable(),
  cancel_at_period_end: p.boolean(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  days_until_due: p.integer({ min: 0 }),
  default_payment_method: p.string().emptyable(),
  description: p.string({ maxLength: 500 }).emptyable(),
  metadata: p.metadata(),
  off_session: p.boolean(),
  payment_behavior: p.enum([
    'allow_incomplete',
    'default_incomplete',
    'error_if_incomplete',
    'pending_if_incomplete',
  ]),
  payment_settings: subPaymentSettings,
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
};

const listParams = {
  ...listFields,
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  created: p.range(),
  current_period_end: p.range(),
  current_period_start: p.range(),
  customer: p.string(),
  price: p.string(),
  status: p.enum([
    'active',
    'all',
    'canceled',
    'ended',
    'incomplete',
    'incomplete_expired',
    'past_due',
    'paused',
    'trialing',
    'unpaid',
  ]),
  test_clock: p.string(),
};

function requireSub(ctx: EmulatorContext, id: string): Subscription {
  return requireLive<Subscription>(ctx, SUBSCRIPTION, id, 'subscription');
}

export const subscriptions: ResourceModule = {
  name: 'subscriptions',
  objects: [{ prefix: 'sub_', collection: SUBSCRIPTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/subscriptions',
      params: subscriptionCreateFields,
      handler: (ctx) => createSubscription(ctx, ctx.params),
    }),
    route({
      method: 'GET',
      path: '/v1/subscriptions',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const ended = ['canceled', 'incomplete_expired'];
        const items = ctx.store.collection<Subscription>(SUBSCRIPTION).list((s) => {
          const item = s.items.data[0];
          return (
            (q.status === undefined
              ? s.status !== 'canceled'
              : q.status === 'all' ||
                (q.status === 'ended' ? ended.includes(s.status) : s.status === q.status)) &&
            (q.customer === undefined || s.customer === q.customer) &&
            (q.collection_method === undefined || s.collection_method === q.collection_method) &&
            (q.price === undefined || s.items.data.some((i) => i.price.id === q.price)) &&
            (q.test_clock === undefined || s.test_clock === q.test_clock) &&
            inRange(s.created, q.created) &&
            (q.current_period_end === undefined ||
              (item !== undefined && inRange(item.current_period_end, q.current_period_end))) &&
            (q.current_period_start === undefined ||
              (item !== undefined && inRange(item.current_period_start, q.current_period_start)))
          );
        });
        return paginate(ctx, SUBSCRIPTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/subscriptions/:id',
      params: {},
      handler: (ctx) => requireSub(ctx, ctx.path.id!),
    }),
    route({
      method: 'POST',
      path: '/v1/subscriptions/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireSub(ctx, ctx.path.id!);
        if (before.status === 'canceled' || before.status === 'incomplete_expired') {
          throw errors.invalidParam(
            undefined,
            'A canceled subscription can only update its cancellation_details and metadata.',
          );
        }
        const q = ctx.params;
        const after: Subscription = structuredClone(before);
        const s = stateOf(ctx, before.id);
        if (q.cancel_at !== undefined) {
          if (q.cancel_at !== null && q.cancel_at <= ctx.now())
            throw errors.invalidParam('cancel_at', '`cancel_at` must be in the future.');
          after.cancel_at = q.cancel_at;
          if (s.cancel_task) ctx.cancelTask(s.cancel_task);
          s.cancel_task =
            q.cancel_at === null
              ? null
              : ctx.schedule(q.cancel_at, 'subscription.cancel_at', { id: before.id });
          // The current period ends at cancel_at when that comes first.
          const item = after.items.data[0]!;
          const natural = periodBounds(s, Math.max(s.period_index, 0));
          const end = q.cancel_at !== null ? Math.min(natural.end, q.cancel_at) : natural.end;
          if (s.period_index >= 0 && end !== item.current_period_end) {
            for (const it of after.items.data) it.current_period_end = end;
            if (s.renew_task) ctx.cancelTask(s.renew_task);
            s.renew_task =
              q.cancel_at === null || end < q.cancel_at
                ? ctx.schedule(end, 'subscription.renew', { id: before.id })
                : null;
          }
        }
        if (q.cancel_at_period_end !== undefined) after.cancel_at_period_end = q.cancel_at_period_end;
        if (q.collection_method !== undefined) after.collection_method = q.collection_method;
        if (q.days_until_due !== undefined) after.days_until_due = q.days_until_due;
        if (after.collection_method === 'charge_automatically') after.days_until_due = null;
        else after.days_until_due ??= 30;
        if (q.default_payment_method !== undefined) after.default_payment_method = q.default_payment_method;
        if (q.description !== undefined) after.description = q.description;
        if (q.proration_behavior !== undefined) s.proration_behavior = q.proration_behavior;
        if (q.payment_settings?.payment_method_types !== undefined && after.payment_settings)
          after.payment_settings.payment_method_types = q.payment_settings.payment_method_types;
        after.metadata = applyMetadata(before.metadata, q.metadata);
        saveState(ctx, s);
        return saveSub(ctx, before, after);
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/subscriptions/:id',
      params: {
        cancellation_details: p.object({
          comment: p.string().emptyable(),
          feedback: p
            .enum([
              'customer_service',
              'low_quality',
              'missing_features',
              'other',
              'switched_service',
              'too_complex',
              'too_expensive',
              'unused',
            ])
            .emptyable(),
        }),
        invoice_now: p.boolean(),
        prorate: p.boolean(),
      },
      handler(ctx) {
        const sub = requireSub(ctx, ctx.path.id!);
        if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
          throw errors.invalidParam(undefined, `No such subscription: '${sub.id}'`, 'resource_missing');
        }
        const d = ctx.params.cancellation_details;
        return endSubscription(ctx, sub.id, 'cancellation_requested', {
          cancellation_details: {
            comment: d?.comment ?? null,
            feedback: d?.feedback ?? null,
            feedback_option: null,
            reason: 'cancellation_requested',
          },
        });
      },
    }),
  ],
  tasks: {
    'subscription.renew'(ctx, payload) {
      renew(ctx, (payload as { id: string }).id);
    },
    'subscription.cancel_at'(ctx, payload) {
      const { id } = payload as { id: string };
      const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id);
      if (!sub || sub.status === 'canceled' || sub.status === 'incomplete_expired') return;
      const s = stateOf(ctx, id);
      s.cancel_task = null;
      saveState(ctx, s);
      endSubscription(ctx, id, 'cancellation_requested');
    },
    'subscription.expire_incomplete'(ctx, payload) {
      const { id } = payload as { id: string };
      const before = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id);
      if (before?.status !== 'incomplete') return;
      const s = stateOf(ctx, id);
      for (const t of [s.renew_task, s.cancel_task]) if (t) ctx.cancelTask(t);
      s.renew_task = s.cancel_task = s.expire_task = null;
      saveState(ctx, s);
      if (before.latest_invoice) {
        const inv = ctx.store.collection<Invoice>(INVOICE).get(before.latest_invoice as string);
        if (inv?.status === 'open') closeInvoice(ctx, inv.id, 'void');
      }
      const cur = ctx.store.collection<Subscription>(SUBSCRIPTION).get(id)!;
      saveSub(ctx, cur, { ...cur, status: 'incomplete_expired', ended_at: ctx.now() });
    },
  },
};
