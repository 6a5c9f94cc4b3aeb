/**
 * Invoices: create (charge_automatically / send_invoice), update, delete drafts, finalize, send, pay
 * (payment method or out of band), void, mark uncollectible, list, lines; invoice payments. The
 * engine (finalizing, collecting, retries) is billing-internal.ts.
 */
import type Stripe from 'stripe';
import { ApiError, errors } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type RequestContext, type ResourceModule, route } from '../resource.ts';
import {
  attemptCollection,
  closeInvoice,
  createDraftInvoice,
  finalizeInvoice,
  INVOICE,
  INVOICE_ITEM,
  INVOICE_PAYMENT,
  type Invoice,
  type InvoiceItem,
  invoiceTasks,
  markInvoicePaid,
  notDraft,
  type PaymentMethodType,
  publicInvoice,
  requireInvoice,
} from './billing-internal.ts';
import { payFromCashBalance } from './cash-balance.ts';
import { currencyCode, requireLive } from './shared.ts';

/** Payment method types the emulator can collect with; others are a 400 rather than a silent no-op. */
export const PAYMENT_METHOD_TYPES = ['card', 'sepa_debit', 'customer_balance'] as const;

export const paymentSettingsParam = p.object({
  default_mandate: p.string().emptyable(),
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
});

const customFieldsParam = p
  .array(
    p.object({
      name: p.string({ maxLength: 40 }).required(),
      value: p.string({ maxLength: 140 }).required(),
    }),
    { max: 4 },
  )
  .emptyable();

const editableFields = {
  auto_advance: p.boolean(),
  automatically_finalizes_at: p.integer(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  custom_fields: customFieldsParam,
  days_until_due: p.integer({ min: 0, max: 3650 }),
  default_payment_method: p.string(),
  description: p.string({ maxLength: 1500 }),
  due_date: p.integer(),
  footer: p.string({ maxLength: 5000 }),
  metadata: p.metadata(),
  payment_settings: paymentSettingsParam,
  statement_descriptor: p.string({ maxLength: 22 }),
};

const createFields = {
  ...editableFields,
  expand: p.array(p.string()),
  currency: p.string(),
  customer: p.string(),
  pending_invoice_items_behavior: p.enum(['exclude', 'include']),
  subscription: p.string(),
};

const listParams = {
  ...listFields,
  expand: p.array(p.string()),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  created: p.range(),
  customer: p.string(),
  due_date: p.range(),
  status: p.enum(['draft', 'open', 'paid', 'uncollectible', 'void']),
  subscription: p.string(),
};

const payFields = {
  expand: p.array(p.string()),
  forgive: p.boolean(),
  mandate: p.string().emptyable(),
  off_session: p.boolean(),
  paid_out_of_band: p.boolean(),
  payment_method: p.string(),
  source: p.string(),
};

type Editable = Infer<typeof editableFields>;

/** Stripe's cross-field rules on collection method and due dates. */
function checkDueRules(
  method: string,
  p: { days_until_due?: number | undefined; due_date?: number | undefined },
  now: number,
): void {
  if (p.days_until_due !== undefined && p.due_date !== undefined) {
    throw errors.parametersExclusive(['days_until_due', 'due_date']);
  }
  if (method === 'charge_automatically') {
    if (p.days_until_due !== undefined)
      throw errors.invalidParam(
        'days_until_due',
        'Invoices with `collection_method=charge_automatically` cannot have `days_until_due` set.',
      );
    if (p.due_date !== undefined)
      throw errors.invalidParam(
        'due_date',
        'Invoices with `collection_method=charge_automatically` cannot have `due_date` set.',
      );
  } else {
    if (p.days_until_due === undefined && p.due_date === undefined)
      throw errors.invalidParam(
        'days_until_due',
        'Invoices with `collection_method=send_invoice` must have either `days_until_due` or `due_date` set.',
        'parameter_missing',
      );
    if (p.due_date !== undefined && p.due_date < now)
      throw errors.invalidParam('due_date', 'The `due_date` must be in the future.');
  }
}

function paymentSettingsFrom(ps: Editable['payment_settings']): {
  types: PaymentMethodType[] | null | undefined;
  country: string | undefined;
} {
  const country =
    ps?.payment_method_options?.customer_balance?.bank_transfer?.eu_bank_transfer?.country ?? undefined;
  return { types: ps?.payment_method_types, country };
}

function cardError(e: { code: string; decline_code: string | null; message: string }): ApiError {
  const body: ApiError['body'] = { type: 'card_error', code: e.code, message: e.message };
  if (e.decline_code) body.decline_code = e.decline_code;
  return new ApiError(402, body);
}

export const invoices: ResourceModule = {
  name: 'invoices',
  objects: [
    { prefix: 'in_', collection: INVOICE, render: (o) => publicInvoice(o as Invoice) },
    { prefix: 'inpay_', collection: INVOICE_PAYMENT },
  ],
  routes: [
    route({
      method: 'POST',
      path: '/v1/invoices',
      params: createFields,
      handler(ctx) {
        const q = ctx.params;
        if (q.customer === undefined) throw errors.parameterMissing('customer');
        const customer = requireLive<Stripe.Customer>(
          ctx,
          'customer',
          q.customer,
          'customer',
          'customer',
          400,
        );
        if (q.subscription !== undefined) {
          throw errors.invalidParam(
            'subscription',
            'The emulator creates subscription invoices only from the subscription itself.',
          );
        }
        const method = q.collection_method ?? 'charge_automatically';
        checkDueRules(method, q, ctx.now());
        const currency = currencyCode(q.currency ?? customer.currency ?? 'eur');
        const ps = paymentSettingsFrom(q.payment_settings);
        const items = ctx.store.collection<InvoiceItem>(INVOICE_ITEM);
        const pending =
          q.pending_invoice_items_behavior === 'include'
            ? items
                .list((i) => i.customer === customer.id && i.invoice === null && i.currency === currency)
                .reverse()
            : [];
        const inv = createDraftInvoice(ctx, {
          customer,
          collection_method: method,
          days_until_due: q.days_until_due,
          due_date: q.due_date,
          auto_advance: q.auto_advance ?? false,
          automatically_finalizes_at: q.automatically_finalizes_at,
          currency,
          description: q.description,
          metadata: q.metadata,
          footer: q.footer,
          custom_fields: q.custom_fields,
          payment_method_types: ps.types,
          customer_balance_country: ps.country,
          default_payment_method: q.default_payment_method,
          statement_descriptor: q.statement_descriptor,
          billing_reason: 'manual',
          lines: pending.map((i) => ({
            amount: i.amount,
            currency: i.currency,
            description: i.description,
            metadata: i.metadata ?? {},
            period: i.period,
            price: (i.pricing?.price_details?.price as string | undefined) ?? null,
            product: i.pricing?.price_details?.product ?? null,
            quantity: i.quantity,
            unitAmountDecimal: i.pricing?.unit_amount_decimal ?? null,
            invoiceItem: i.id,
          })),
        });
        for (const i of pending) items.replace({ ...i, invoice: inv.id });
        return publicInvoice(inv, q.expand);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoices',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<Invoice>(INVOICE)
          .list(
            (i) =>
              (q.customer === undefined || i.customer === q.customer) &&
              (q.status === undefined || i.status === q.status) &&
              (q.collection_method === undefined || i.collection_method === q.collection_method) &&
              (q.subscription === undefined ||
                i.parent?.subscription_details?.subscription === q.subscription) &&
              inRange(i.created, q.created) &&
              (q.due_date === undefined || (i.due_date !== null && inRange(i.due_date, q.due_date))),
          )
          .map((i) =>
            publicInvoice(
              i,
              ctx.params.expand?.map((e: string) => e.replace(/^data\./, '')),
            ),
          );
        return paginate(ctx, INVOICE, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoices/:id',
      params: {},
      handler(ctx) {
        const found = ctx.store.collection<Invoice>(INVOICE).get(ctx.path.id!);
        if (!found) throw errors.resourceMissing('invoice', ctx.path.id!);
        if ((found as { deleted?: boolean }).deleted) return found;
        return publicInvoice(found, (ctx.params as { expand?: string[] }).expand);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoices/:id/lines',
      params: listFields,
      handler(ctx) {
        const inv = requireInvoice(ctx, ctx.path.id!);
        const { limit = 10, starting_after, ending_before } = ctx.params;
        let data = inv.lines.data;
        if (starting_after) data = data.slice(data.findIndex((l) => l.id === starting_after) + 1);
        if (ending_before)
          data = data.slice(
            0,
            Math.max(
              0,
              data.findIndex((l) => l.id === ending_before),
            ),
          );
        return { object: 'list', data: data.slice(0, limit), has_more: data.length > limit, url: ctx.url };
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id',
      params: editableFields,
      handler(ctx) {
        const before = requireInvoice(ctx, ctx.path.id!);
        const q = ctx.params;
        const after: Invoice = structuredClone(before);
        if (before.status !== 'draft') {
          const allowed = new Set(['metadata', 'description', 'footer', 'custom_fields', 'expand']);
          if (before.status === 'open') allowed.add('auto_advance');
          const bad = Object.keys(q).find((k) => !allowed.has(k));
          if (bad) throw notDraft(before, `change ${bad} on`);
        }
        const method = q.collection_method ?? before.collection_method;
        if (q.collection_method !== undefined || q.days_until_due !== undefined || q.due_date !== undefined) {
          checkDueRules(
            method,
            {
              days_until_due: q.days_until_due,
              due_date:
                q.due_date ??
                (method === 'send_invoice' && q.days_until_due === undefined
                  ? (before.due_date ?? undefined)
                  : undefined),
            },
            ctx.now(),
          );
        }
        after.collection_method = method;
        if (method === 'charge_automatically') after.due_date = null;
        if (q.days_until_due !== undefined) {
          after.due_date = ctx.now() + q.days_until_due * 86_400;
          setDaysUntilDue(ctx, before.id, q.days_until_due);
        }
        if (q.due_date !== undefined) {
          after.due_date = q.due_date;
          setDaysUntilDue(ctx, before.id, null);
        }
        if (q.auto_advance !== undefined) after.auto_advance = q.auto_advance;
        if (q.custom_fields !== undefined) after.custom_fields = q.custom_fields;
        if (q.default_payment_method !== undefined) {
          after.default_payment_method = q.default_payment_method;
        }
        if (q.description !== undefined) after.description = q.description;
        if (q.footer !== undefined) after.footer = q.footer;
        if (q.statement_descriptor !== undefined) after.statement_descriptor = q.statement_descriptor;
        if (q.automatically_finalizes_at !== undefined)
          after.automatically_finalizes_at = q.automatically_finalizes_at;
        if (q.payment_settings !== undefined) {
          const ps = paymentSettingsFrom(q.payment_settings);
          if (ps.types !== undefined) after.payment_settings.payment_method_types = ps.types;
        }
        after.metadata = applyMetadata(before.metadata ?? {}, q.metadata);
        const previous = previousAttributes(publicInvoice(before), publicInvoice(after));
        const saved = ctx.store.collection<Invoice>(INVOICE).replace(after);
        if (previous) ctx.emit('invoice.updated', publicInvoice(saved), previous);
        return publicInvoice(saved, (q as { expand?: string[] }).expand);
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/invoices/:id',
      params: {},
      handler(ctx) {
        const inv = requireInvoice(ctx, ctx.path.id!);
        if (inv.status !== 'draft') throw notDraft(inv, 'delete');
        const tombstone: Stripe.DeletedInvoice = { id: inv.id, object: 'invoice', deleted: true };
        // Items on a deleted draft go back to pending, as on Stripe.
        const items = ctx.store.collection<InvoiceItem>(INVOICE_ITEM);
        for (const i of items.list((x) => x.invoice === inv.id)) items.replace({ ...i, invoice: null });
        ctx.store.collection(INVOICE).markDeleted(inv.id, tombstone);
        ctx.emit('invoice.deleted', publicInvoice(inv));
        return tombstone;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id/finalize',
      params: { auto_advance: p.boolean() },
      handler(ctx) {
        const inv = finalizeInvoice(ctx, ctx.path.id!, { auto_advance: ctx.params.auto_advance });
        return publicInvoice(inv, (ctx.params as { expand?: string[] }).expand);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id/send',
      params: {},
      handler(ctx) {
        let inv = requireInvoice(ctx, ctx.path.id!);
        if (inv.collection_method !== 'send_invoice') {
          throw errors.invalidParam(
            undefined,
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
          );
        }
        if (inv.status === 'draft') inv = finalizeInvoice(ctx, inv.id, { collect: false });
        else if (inv.status !== 'open' && inv.status !== 'paid') {
          throw errors.invalidParam(undefined, `You cannot send an invoice that is ${inv.status}.`);
        }
        const { payments: _p, ...shown } = inv;
        ctx.emit('invoice.sent', shown as Invoice);
        return publicInvoice(inv, (ctx.params as { expand?: string[] }).expand);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id/pay',
      params: payFields,
      handler(ctx) {
        const q = ctx.params;
        let inv = requireInvoice(ctx, ctx.path.id!);
        if (q.source !== undefined) throw errors.resourceMissing('source', q.source, 'source', 400);
        if (q.paid_out_of_band && q.payment_method !== undefined)
          throw errors.parametersExclusive(['paid_out_of_band', 'payment_method']);
        if (inv.status === 'paid') throw errors.invalidParam(undefined, 'Invoice is already paid');
        if (inv.status === 'void') throw errors.invalidParam(undefined, 'This invoice has been voided.');
        if (inv.status === 'draft') inv = finalizeInvoice(ctx, inv.id, { collect: false });
        if (inv.status === 'paid') return publicInvoice(inv, q.expand);
        if (q.paid_out_of_band) {
          return publicInvoice(markInvoicePaid(ctx, inv.id, null, { outOfBand: true }), q.expand);
        }
        if (
          q.payment_method === undefined &&
          inv.payment_settings.payment_method_types?.includes('customer_balance')
        ) {
          const paid = payFromCashBalance(ctx, inv.id);
          if (paid) return publicInvoice(paid, q.expand);
        }
        const result = attemptCollection(ctx, inv.id, {
          paymentMethod: q.payment_method,
          offSession: q.off_session ?? true,
          automatic: false,
        });
        if (result.error) throw cardError(result.error);
        return publicInvoice(result.invoice, q.expand);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id/void',
      params: {},
      handler(ctx) {
        return publicInvoice(closeInvoice(ctx, ctx.path.id!, 'void'));
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoices/:id/mark_uncollectible',
      params: {},
      handler(ctx) {
        return publicInvoice(closeInvoice(ctx, ctx.path.id!, 'uncollectible'));
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoice_payments',
      params: {
        ...listFields,
        created: p.range(),
        invoice: p.string(),
        payment: p.object({
          payment_intent: p.string(),
          payment_record: p.string(),
          type: p.enum(['payment_intent', 'payment_record']).required(),
        }),
        status: p.enum(['canceled', 'open', 'paid']),
      },
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<Stripe.InvoicePayment>(INVOICE_PAYMENT)
          .list(
            (ip) =>
              (q.invoice === undefined || ip.invoice === q.invoice) &&
              (q.status === undefined || ip.status === q.status) &&
              (q.payment === undefined ||
                (ip.payment.type === q.payment.type &&
                  (q.payment.payment_intent === undefined ||
                    ip.payment.payment_intent === q.payment.payment_intent))) &&
              inRange(ip.created, q.created),
          );
        return paginate(ctx, INVOICE_PAYMENT, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoice_payments/:id',
      params: {},
      handler(ctx) {
        return requireLive<Stripe.InvoicePayment>(ctx, INVOICE_PAYMENT, ctx.path.id!, 'invoice_payment');
      },
    }),
  ],
  tasks: invoiceTasks,
};

function setDaysUntilDue(ctx: RequestContext<unknown>, id: string, days: number | null): void {
  const c = ctx.store.collection<{ id: string; days_until_due: number | null }>('billing_invoice_state');
  const s = c.get(id);
  if (s) c.replace({ ...s, days_until_due: days });
}
