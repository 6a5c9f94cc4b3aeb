/**
 * The billing engine shared by invoices, invoice items, cash balance and subscriptions: building
 * drafts, finalizing (numbering, hosted URLs), collecting (through the payments contract), marking
 * paid, failed attempts with retries. Route modules stay thin; subscriptions react to invoice
 * outcomes through the hooks at the bottom rather than importing invoices.ts (no import cycles).
 */
import type Stripe from 'stripe';
import { ApiError, errors } from '../errors.ts';
import { applyMetadata } from '../params.ts';
import type { EmulatorContext } from '../resource.ts';
import type { Wire } from '../wire.ts';
import {
  confirmPaymentIntent,
  createPaymentIntent,
  onPaymentIntentOutcome,
  recordBalanceTransaction,
} from './payments-internal.ts';

export const INVOICE = 'invoice';
export const INVOICE_ITEM = 'invoiceitem';
export const INVOICE_PAYMENT = 'invoice_payment';
/** Emulator-only bookkeeping per invoice (what the Invoice object does not carry). */
const INVOICE_STATE = 'billing_invoice_state';

export type Invoice = Wire<Stripe.Invoice>;
export type InvoiceItem = Wire<Stripe.InvoiceItem>;
export type LineItem = Wire<Stripe.InvoiceLineItem>;

/**
 * Days after the previous failed attempt at which a charge_automatically invoice is retried; after
 * the last retry fails the invoice stays open and subscriptions apply their end-of-dunning rule.
 * Stripe's Smart Retries pick times by model; a fixed custom-schedule-like 3/5/7 keeps tests exact.
 */
export const RETRY_DELAYS_DAYS = [3, 5, 7];
const DAY = 86_400;

interface InvoiceState {
  id: string;
  days_until_due: number | null;
  /** The PaymentIntent collecting this invoice, reused for retries as Stripe does. */
  payment_intent: string | null;
  retry_task: string | null;
  finalize_task: string | null;
  /** Last synchronous failure seen by the outcome listener (a decline to report as 402). */
  last_error: { code: string; decline_code: string | null; message: string } | null;
}

function stateOf(ctx: EmulatorContext, id: string): InvoiceState {
  return (
    ctx.store.collection<InvoiceState>(INVOICE_STATE).get(id) ?? {
      id,
      days_until_due: null,
      payment_intent: null,
      retry_task: null,
      finalize_task: null,
      last_error: null,
    }
  );
}

function saveState(ctx: EmulatorContext, s: InvoiceState): void {
  const c = ctx.store.collection<InvoiceState>(INVOICE_STATE);
  if (c.get(s.id)) c.replace(s);
  else c.insert(s);
}

/** The invoice as the API shows it: `payments` is includable (only with `expand[]=payments`). */
export function publicInvoice(inv: Invoice, expand?: string[]): Invoice {
  if (expand?.some((e) => e === 'payments' || e.startsWith('payments.'))) return inv;
  const { payments: _payments, ...rest } = inv;
  return rest as Invoice;
}

/** Reads an invoice or answers Stripe's 404. */
export function requireInvoice(ctx: EmulatorContext, id: string, param = 'id', status = 404): Invoice {
  const c = ctx.store.collection<Invoice>(INVOICE);
  if (!c.isLive(id)) throw errors.resourceMissing('invoice', id, param, status);
  return c.get(id)!;
}

function saveInvoice(ctx: EmulatorContext, inv: Invoice): Invoice {
  return ctx.store.collection<Invoice>(INVOICE).replace(inv);
}

function emitInvoice(ctx: EmulatorContext, type: string, inv: Invoice, previous?: Record<string, unknown>) {
  const { payments: _p, ...shown } = inv;
  ctx.emit(type, shown as Invoice, previous);
}

/** A line of a draft, before it is attached to an invoice. */
export interface LineInput {
  amount: number;
  currency: string;
  description: string | null;
  metadata?: Record<string, string>;
  period: { start: number; end: number };
  price: string | null;
  product: string | null;
  quantity: number;
  unitAmountDecimal: string | null;
  invoiceItem?: string;
  subscription?: string | null;
  subscriptionItem?: string;
  proration?: boolean;
}

export function buildLine(ctx: EmulatorContext, invoiceId: string, l: LineInput): LineItem {
  const isSubscriptionItem = l.subscriptionItem !== undefined;
  return {
    id: ctx.newId('il', 24),
    object: 'line_item',
    amount: l.amount,
    currency: l.currency,
    description: l.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: l.metadata ?? {},
    parent: isSubscriptionItem
      ? {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: l.invoiceItem ?? null,
            proration: l.proration ?? false,
            proration_details: { credited_items: null },
            subscription: l.subscription ?? null,
            subscription_item: l.subscriptionItem!,
          },
        }
      : {
          type: 'invoice_item_details',
          invoice_item_details: {
            invoice_item: l.invoiceItem ?? '',
            proration: l.proration ?? false,
            proration_details: { credited_items: null },
            subscription: l.subscription ?? null,
          },
          subscription_item_details: null,
        },
    period: l.period,
    pretax_credit_amounts: [],
    pricing:
      l.price && l.product
        ? {
            type: 'price_details',
            price_details: { price: l.price, product: l.product },
            unit_amount_decimal: l.unitAmountDecimal,
          }
        : null,
    quantity: l.quantity,
    quantity_decimal: String(l.quantity),
    subscription: l.subscription ?? null,
    subtotal: l.amount,
    taxes: [],
  } satisfies LineItem;
}

/** Recomputes the money fields from the lines and payments. */
export function recomputeTotals(inv: Invoice): void {
  const subtotal = inv.lines.data.reduce((s, l) => s + l.amount, 0);
  inv.subtotal = subtotal;
  inv.subtotal_excluding_tax = subtotal;
  inv.total = subtotal;
  inv.total_excluding_tax = subtotal;
  inv.amount_due = Math.max(0, subtotal);
  inv.amount_remaining = Math.max(0, inv.amount_due - inv.amount_paid);
}

export type PaymentMethodType = Stripe.Invoice.PaymentSettings.PaymentMethodType;

/** What a new draft is made from. */
export interface DraftInput {
  customer: Stripe.Customer;
  collection_method: 'charge_automatically' | 'send_invoice';
  days_until_due?: number | undefined;
  due_date?: number | undefined;
  auto_advance: boolean;
  automatically_finalizes_at?: number | undefined;
  currency: string;
  description?: string | null | undefined;
  metadata?: Record<string, string> | null | undefined;
  footer?: string | null | undefined;
  custom_fields?: Array<{ name: string; value: string }> | null | undefined;
  payment_method_types?: PaymentMethodType[] | null | undefined;
  customer_balance_country?: string | undefined;
  default_payment_method?: string | null | undefined;
  statement_descriptor?: string | null | undefined;
  billing_reason: Stripe.Invoice.BillingReason;
  subscription?: { id: string; metadata: Record<string, string> } | undefined;
  period?: { start: number; end: number } | undefined;
  lines?: LineInput[] | undefined;
}

/** Creates a draft invoice and records `invoice.created`. */
export function createDraftInvoice(ctx: EmulatorContext, input: DraftInput): Invoice {
  const now = ctx.now();
  const id = ctx.newId('in', 24);
  const c = input.customer;
  const pmTypes = input.payment_method_types ?? null;
  const dueDate =
    input.collection_method === 'send_invoice'
      ? (input.due_date ?? (input.days_until_due !== undefined ? now + input.days_until_due * DAY : null))
      : null;
  const autoFinalizeAt = input.auto_advance ? (input.automatically_finalizes_at ?? now + 3600) : null;
  const inv: Invoice = {
    id,
    object: 'invoice',
    account_country: 'DE',
    account_name: 'Stripe Emulator',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: input.auto_advance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: autoFinalizeAt,
    billing_reason: input.billing_reason,
    collection_method: input.collection_method,
    created: now,
    currency: input.currency,
    custom_fields: input.custom_fields ?? c.invoice_settings.custom_fields ?? null,
    customer: c.id,
    customer_account: null,
    customer_address: c.address ?? null,
    customer_email: c.email ?? null,
    customer_name: c.name ?? null,
    customer_phone: c.phone ?? null,
    customer_shipping: c.shipping
      ? {
          address: c.shipping.address as Stripe.Address,
          carrier: c.shipping.carrier ?? null,
          name: c.shipping.name as string,
          phone: c.shipping.phone ?? null,
          tracking_number: c.shipping.tracking_number ?? null,
        }
      : null,
    customer_tax_exempt: c.tax_exempt ?? 'none',
    customer_tax_ids: [],
    default_payment_method: input.default_payment_method ?? null,
    default_source: null,
    default_tax_rates: [],
    description: input.description ?? null,
    discounts: [],
    due_date: dueDate,
    effective_at: null,
    ending_balance: null,
    footer: input.footer ?? c.invoice_settings.footer ?? null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: applyMetadata({}, input.metadata),
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: input.subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: {
            metadata: input.subscription.metadata,
            subscription: input.subscription.id,
          },
        }
      : null,
    payment_settings: {
      default_mandate: null,
      payment_method_options: pmTypes?.includes('customer_balance')
        ? {
            acss_debit: null,
            bancontact: null,
            card: null,
            customer_balance: {
              bank_transfer: {
                type: 'eu_bank_transfer',
                eu_bank_transfer: { country: input.customer_balance_country ?? 'DE' },
              },
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
    },
    payments: { object: 'list', data: [], has_more: false, url: '/v1/invoice_payments' },
    period_end: input.period?.end ?? now,
    period_start: input.period?.start ?? now,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: input.statement_descriptor ?? null,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: c.test_clock as string | null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  } satisfies Invoice;
  for (const l of input.lines ?? []) inv.lines.data.push(buildLine(ctx, id, l));
  recomputeTotals(inv);
  const saved = ctx.store.collection<Invoice>(INVOICE).insert(inv);
  const state = stateOf(ctx, id);
  state.days_until_due = input.days_until_due ?? null;
  if (autoFinalizeAt !== null)
    state.finalize_task = ctx.schedule(autoFinalizeAt, 'invoice.auto_finalize', { id });
  saveState(ctx, state);
  emitInvoice(ctx, 'invoice.created', saved);
  return saved;
}

/** Adds a line to a draft (an invoice item assigned to it); no event, as on Stripe. */
export function addLineToDraft(ctx: EmulatorContext, invoiceId: string, line: LineInput): Invoice {
  const inv = requireInvoice(ctx, invoiceId);
  inv.lines.data.push(buildLine(ctx, inv.id, line));
  recomputeTotals(inv);
  return saveInvoice(ctx, inv);
}

/** Replaces or drops the line belonging to an invoice item on a draft. */
export function syncItemLine(
  ctx: EmulatorContext,
  invoiceId: string,
  itemId: string,
  line: LineInput | null,
) {
  const inv = requireInvoice(ctx, invoiceId);
  const idx = inv.lines.data.findIndex((l) => l.parent?.invoice_item_details?.invoice_item === itemId);
  if (idx < 0) return;
  if (line === null) inv.lines.data.splice(idx, 1);
  else inv.lines.data[idx] = { ...buildLine(ctx, inv.id, line), id: inv.lines.data[idx]!.id };
  recomputeTotals(inv);
  saveInvoice(ctx, inv);
}

/** Statuses other than draft: the Stripe error for editing a finalized invoice. */
export function notDraft(inv: Invoice, what = 'modify'): ApiError {
  return errors.invalidParam(
    undefined,
    `You can only ${what} draft invoices. This invoice (${inv.id}) is ${inv.status}.`,
    'invoice_not_editable',
  );
}

function cancelTask(ctx: EmulatorContext, id: string | null): void {
  if (id) ctx.cancelTask(id);
}

/**
 * Finalizes a draft: number from the customer's prefix and sequence, hosted URLs, due date. Then
 * a €0 invoice is paid, and a charge_automatically invoice with auto_advance is charged.
 */
export function finalizeInvoice(
  ctx: EmulatorContext,
  id: string,
  opts: { auto_advance?: boolean | undefined; collect?: boolean } = {},
): Invoice {
  const inv = requireInvoice(ctx, id);
  if (inv.status !== 'draft') {
    throw errors.invalidParam(
      undefined,
      "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
      'invoice_not_editable',
    );
  }
  const customers = ctx.store.collection<Stripe.Customer>('customer');
  const customer = customers.get(inv.customer as string);
  if (!customer || (customer as { deleted?: boolean }).deleted) {
    throw errors.invalidParam('customer', 'The customer of this invoice no longer exists.');
  }
  const state = stateOf(ctx, id);
  cancelTask(ctx, state.finalize_task);
  state.finalize_task = null;
  const now = ctx.now();
  const seq = customer.next_invoice_sequence ?? 1;
  customers.replace({ ...customer, next_invoice_sequence: seq + 1 });
  if (opts.auto_advance !== undefined) inv.auto_advance = opts.auto_advance;
  inv.number = `${customer.invoice_prefix}-${String(seq).padStart(4, '0')}`;
  inv.status = 'open';
  inv.status_transitions.finalized_at = now;
  inv.effective_at ??= now;
  inv.automatically_finalizes_at = null;
  inv.starting_balance = 0;
  inv.ending_balance = 0;
  inv.hosted_invoice_url = `${ctx.baseUrl()}/i/${inv.id}`;
  inv.invoice_pdf = `${ctx.baseUrl()}/i/${inv.id}/pdf`;
  if (inv.collection_method === 'send_invoice' && state.days_until_due !== null) {
    inv.due_date = now + state.days_until_due * DAY;
  }
  recomputeTotals(inv);
  saveState(ctx, state);
  const saved = saveInvoice(ctx, inv);
  emitInvoice(ctx, 'invoice.finalized', saved);
  if (saved.amount_due === 0) return markInvoicePaid(ctx, id, null);
  if ((opts.collect ?? true) && saved.collection_method === 'charge_automatically' && saved.auto_advance) {
    return attemptCollection(ctx, id, { offSession: true, automatic: true }).invoice;
  }
  return saved;
}

/** The payment method a charge_automatically invoice is charged with (Stripe's order). */
export function defaultPaymentMethodFor(ctx: EmulatorContext, inv: Invoice): string | null {
  if (inv.default_payment_method) return inv.default_payment_method as string;
  const subId = inv.parent?.subscription_details?.subscription as string | undefined;
  if (subId) {
    const sub = ctx.store.collection<Stripe.Subscription>('subscription').get(subId);
    if (sub?.default_payment_method) return sub.default_payment_method as string;
  }
  const customer = ctx.store.collection<Stripe.Customer>('customer').get(inv.customer as string);
  return (customer?.invoice_settings?.default_payment_method as string | null | undefined) ?? null;
}

function paymentMethodTypesFor(inv: Invoice): string[] | undefined {
  const types: string[] | null = inv.payment_settings.payment_method_types;
  return types?.filter((t) => t !== 'customer_balance') ?? undefined;
}

function upsertInvoicePayment(ctx: EmulatorContext, inv: Invoice, pi: Stripe.PaymentIntent): Invoice {
  const existing = inv.payments?.data.find((p) => p.payment.payment_intent === pi.id);
  if (existing) return inv;
  const ip: Wire<Stripe.InvoicePayment> = {
    id: ctx.newId('inpay', 24),
    object: 'invoice_payment',
    amount_paid: null,
    amount_requested: pi.amount,
    created: ctx.now(),
    currency: inv.currency,
    invoice: inv.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: pi.id },
    status: 'open',
    status_transitions: { canceled_at: null, paid_at: null },
  } satisfies Wire<Stripe.InvoicePayment>;
  ctx.store.collection<Wire<Stripe.InvoicePayment>>(INVOICE_PAYMENT).insert(ip);
  inv.payments ??= { object: 'list', data: [], has_more: false, url: '/v1/invoice_payments' };
  for (const p of inv.payments.data) p.is_default = false;
  inv.payments.data.unshift(ip);
  return inv;
}

/** What a collection attempt came to. */
export interface CollectionResult {
  invoice: Invoice;
  /** A decline, to answer as 402 when the attempt came from `invoices.pay`. */
  error: { code: string; decline_code: string | null; message: string } | null;
}

/**
 * Charges the invoice's amount_remaining with `paymentMethod` (or the default one) through a
 * PaymentIntent that remembers the invoice as its origin. The outcome arrives via the payments
 * listener (now, or later for SEPA).
 */
export function attemptCollection(
  ctx: EmulatorContext,
  id: string,
  opts: { paymentMethod?: string | undefined; offSession: boolean; automatic: boolean },
): CollectionResult {
  let inv = requireInvoice(ctx, id);
  const pm = opts.paymentMethod ?? defaultPaymentMethodFor(ctx, inv);
  if (!pm) {
    if (!opts.automatic) {
      throw errors.invalidParam(
        undefined,
        'This invoice cannot be paid: the customer has no default payment method and none was given.',
        'invoice_no_payment_method_types',
      );
    }
    // Stripe attempts and fails an automatic charge without a payment method.
    return { invoice: recordFailedAttempt(ctx, id, null), error: null };
  }
  const state = stateOf(ctx, id);
  state.last_error = null;
  saveState(ctx, state);
  let pi: Stripe.PaymentIntent | undefined;
  let thrown: unknown;
  try {
    if (state.payment_intent) {
      pi = confirmPaymentIntent(ctx, state.payment_intent, pm);
    } else {
      const types = paymentMethodTypesFor(inv);
      pi = createPaymentIntent(ctx, {
        amount: inv.amount_remaining,
        currency: inv.currency,
        customer: inv.customer as string,
        payment_method: pm,
        ...(types?.length ? { payment_method_types: types } : {}),
        description: inv.number ? `Invoice ${inv.number}` : null,
        metadata: {},
        confirm: true,
        off_session: opts.offSession,
        origin: { kind: 'invoice', id },
      });
    }
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 402) throw err;
    thrown = err;
  }
  inv = requireInvoice(ctx, id);
  const after = stateOf(ctx, id);
  if (thrown) {
    const body = (thrown as ApiError).body;
    const error = after.last_error ?? {
      code: String(body.code ?? 'card_declined'),
      decline_code: (body.decline_code as string | undefined) ?? null,
      message: body.message,
    };
    // The outcome listener saw nothing (no PI came back): record the failed attempt here.
    if (!after.last_error) inv = recordFailedAttempt(ctx, id, null);
    return { invoice: inv, error };
  }
  if (pi) {
    // The listener may have run already (synchronous outcome); if not, apply the outcome here.
    const handled =
      (pi.status === 'succeeded' && inv.status === 'paid') ||
      (pi.status === 'requires_payment_method' && after.last_error !== null) ||
      (pi.status === 'processing' && inv.payments?.data.some((p) => p.payment.payment_intent === pi.id));
    if (!handled) onOutcome(ctx, pi, { kind: 'invoice', id });
    inv = requireInvoice(ctx, id);
  }
  return { invoice: inv, error: stateOf(ctx, id).last_error };
}

function lastError(pi: Stripe.PaymentIntent): { code: string; decline_code: string | null; message: string } {
  const e = pi.last_payment_error;
  return {
    code: e?.code ?? 'card_declined',
    decline_code: e?.decline_code ?? null,
    message: e?.message ?? 'Your card was declined.',
  };
}

/** Marks an open invoice paid: by a PaymentIntent, out of band (`null` PI), or by a €0 total. */
export function markInvoicePaid(
  ctx: EmulatorContext,
  id: string,
  pi: Stripe.PaymentIntent | null,
  opts: { outOfBand?: boolean; fromCashBalance?: boolean } = {},
): Invoice {
  let inv = requireInvoice(ctx, id);
  if (inv.status === 'paid') return inv;
  const now = ctx.now();
  const state = stateOf(ctx, id);
  cancelTask(ctx, state.retry_task);
  state.retry_task = null;
  saveState(ctx, state);
  let paidPayment: Wire<Stripe.InvoicePayment> | undefined;
  if (pi) {
    inv = upsertInvoicePayment(ctx, inv, pi);
    const ip = inv.payments!.data.find((p) => p.payment.payment_intent === pi.id)!;
    ip.status = 'paid';
    ip.amount_paid = pi.amount_received || pi.amount;
    ip.status_transitions.paid_at = now;
    ctx.store.collection<Wire<Stripe.InvoicePayment>>(INVOICE_PAYMENT).replace(ip);
    paidPayment = ip;
    inv.amount_paid += ip.amount_paid;
    inv.attempted = true;
  } else if (opts.outOfBand) {
    inv.amount_paid_off_stripe = inv.amount_remaining;
    inv.amount_paid += inv.amount_remaining;
  } else if (opts.fromCashBalance) {
    inv.amount_paid += inv.amount_remaining;
    inv.attempted = true;
  }
  inv.amount_remaining = Math.max(0, inv.amount_due - inv.amount_paid);
  inv.status = 'paid';
  inv.status_transitions.paid_at = now;
  inv.next_payment_attempt = null;
  inv.auto_advance = false;
  inv = saveInvoice(ctx, inv);
  emitInvoice(ctx, 'invoice.paid', inv);
  if (!opts.outOfBand) emitInvoice(ctx, 'invoice.payment_succeeded', inv);
  if (paidPayment) ctx.emit('invoice_payment.paid', paidPayment);
  for (const l of hooks.paid) l(ctx, inv);
  return inv;
}

/** Counts a failed attempt; schedules the next retry (charge_automatically with auto_advance). */
export function recordFailedAttempt(
  ctx: EmulatorContext,
  id: string,
  pi: Stripe.PaymentIntent | null,
): Invoice {
  let inv = requireInvoice(ctx, id);
  if (inv.status !== 'open') return inv;
  if (pi) inv = upsertInvoicePayment(ctx, inv, pi);
  const state = stateOf(ctx, id);
  cancelTask(ctx, state.retry_task);
  state.retry_task = null;
  inv.attempt_count += 1;
  inv.attempted = true;
  const retryIndex = inv.attempt_count - 1;
  const delay = RETRY_DELAYS_DAYS[retryIndex];
  const retries = inv.collection_method === 'charge_automatically' && inv.auto_advance === true;
  if (retries && delay !== undefined) {
    inv.next_payment_attempt = ctx.now() + delay * DAY;
    state.retry_task = ctx.schedule(inv.next_payment_attempt, 'invoice.retry_payment', { id });
  } else {
    inv.next_payment_attempt = null;
  }
  saveState(ctx, state);
  inv = saveInvoice(ctx, inv);
  emitInvoice(ctx, 'invoice.payment_failed', inv);
  for (const l of hooks.failed) l(ctx, inv, retries && delay === undefined);
  return inv;
}

/** Sets the invoice's status to void / uncollectible with its event. */
export function closeInvoice(ctx: EmulatorContext, id: string, to: 'void' | 'uncollectible'): Invoice {
  const inv = requireInvoice(ctx, id);
  const allowed = to === 'void' ? ['open', 'uncollectible'] : ['open'];
  if (!allowed.includes(inv.status ?? '')) {
    throw errors.invalidParam(
      undefined,
      to === 'void'
        ? `You can only void invoices that are open or uncollectible. This invoice is ${inv.status}.`
        : `You can only mark open invoices as uncollectible. This invoice is ${inv.status}.`,
      'invoice_not_editable',
    );
  }
  const state = stateOf(ctx, id);
  cancelTask(ctx, state.retry_task);
  state.retry_task = null;
  saveState(ctx, state);
  inv.status = to;
  inv.next_payment_attempt = null;
  inv.auto_advance = false;
  if (to === 'void') {
    inv.status_transitions.voided_at = ctx.now();
    inv.amount_remaining = 0;
  } else {
    inv.status_transitions.marked_uncollectible_at = ctx.now();
  }
  const saved = saveInvoice(ctx, inv);
  emitInvoice(ctx, to === 'void' ? 'invoice.voided' : 'invoice.marked_uncollectible', saved);
  return saved;
}

function onOutcome(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  origin: { kind: string; id: string } | undefined,
) {
  if (origin?.kind !== 'invoice') return;
  const id = origin.id;
  if (!ctx.store.collection<Invoice>(INVOICE).isLive(id)) return;
  const state = stateOf(ctx, id);
  if (state.payment_intent !== pi.id) {
    state.payment_intent = pi.id;
    saveState(ctx, state);
  }
  if (pi.status === 'succeeded') {
    markInvoicePaid(ctx, id, pi);
  } else if (pi.status === 'processing') {
    // SEPA and friends: the invoice stays open with its payment attempt recorded until settlement.
    let inv = requireInvoice(ctx, id);
    inv = upsertInvoicePayment(ctx, inv, pi);
    inv.attempted = true;
    inv.attempt_count = Math.max(inv.attempt_count, 1);
    saveInvoice(ctx, inv);
  } else if (pi.status === 'requires_payment_method') {
    const s = stateOf(ctx, id);
    s.last_error = lastError(pi);
    saveState(ctx, s);
    recordFailedAttempt(ctx, id, pi);
  }
}
onPaymentIntentOutcome(onOutcome);

/** Books an amount as a balance transaction (cash balance payments), via the payments contract. */
export function bookBalanceTransaction(
  ctx: EmulatorContext,
  amount: number,
  source: string,
  description: string,
) {
  return recordBalanceTransaction(ctx, { amount, fee: 0, type: 'charge', source, description });
}

/** Listeners for invoice outcomes (subscriptions move their status on them). */
const hooks = {
  paid: [] as Array<(ctx: EmulatorContext, inv: Invoice) => void>,
  failed: [] as Array<(ctx: EmulatorContext, inv: Invoice, retriesExhausted: boolean) => void>,
};

/** Called after an invoice is paid (after its events). */
export function onInvoicePaid(l: (ctx: EmulatorContext, inv: Invoice) => void): void {
  hooks.paid.push(l);
}
/** Called after a failed attempt; `retriesExhausted` when no retry follows under the schedule. */
export function onInvoicePaymentFailed(
  l: (ctx: EmulatorContext, inv: Invoice, retriesExhausted: boolean) => void,
): void {
  hooks.failed.push(l);
}

/** Scheduled work of the billing engine (registered by invoices.ts). */
export const invoiceTasks = {
  'invoice.auto_finalize'(ctx: EmulatorContext, payload: unknown) {
    const { id } = payload as { id: string };
    const inv = ctx.store.collection<Invoice>(INVOICE).get(id);
    if (inv?.status !== 'draft' || !inv.auto_advance) return;
    const state = stateOf(ctx, id);
    state.finalize_task = null;
    saveState(ctx, state);
    finalizeInvoice(ctx, id);
  },
  'invoice.retry_payment'(ctx: EmulatorContext, payload: unknown) {
    const { id } = payload as { id: string };
    const inv = ctx.store.collection<Invoice>(INVOICE).get(id);
    if (inv?.status !== 'open') return;
    const state = stateOf(ctx, id);
    state.retry_task = null;
    saveState(ctx, state);
    attemptCollection(ctx, id, { offSession: true, automatic: true });
  },
};
