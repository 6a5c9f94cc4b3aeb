/**
 * Invoice items: on a draft invoice (`invoice` given; finalized invoices are a 400) or pending for
 * the customer's next invoice. Amount from `amount`+`currency`, `pricing.price`, or `price_data`.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { Wire } from '../wire.ts';
import {
  addLineToDraft,
  INVOICE_ITEM,
  type InvoiceItem,
  type LineInput,
  notDraft,
  requireInvoice,
  syncItemLine,
} from './billing-internal.ts';
import { createPrice } from './prices.ts';
import { currencyCode, requireLive } from './shared.ts';

const priceDataParam = p.object({
  currency: p.string().required(),
  product: p.string().required(),
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  unit_amount: p.integer({ min: 0 }),
  unit_amount_decimal: p.decimal(),
});

const periodParam = p.object({ end: p.integer().required(), start: p.integer().required() });

const pricingFields = {
  amount: p.integer(),
  description: p.string(),
  discountable: p.boolean(),
  metadata: p.metadata(),
  period: periodParam,
  price_data: priceDataParam,
  pricing: p.object({ price: p.string() }),
  quantity: p.integer({ min: 0 }),
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  unit_amount_decimal: p.decimal(),
};

const createFields = {
  ...pricingFields,
  currency: p.string(),
  customer: p.string(),
  invoice: p.string(),
  subscription: p.string(),
};

const listParams = {
  ...listFields,
  created: p.range(),
  customer: p.string(),
  invoice: p.string(),
  pending: p.boolean(),
};

type WirePrice = Wire<Stripe.Price>;

interface Priced {
  amount: number;
  currency: string;
  price: string | null;
  product: string | null;
  quantity: number;
  unitAmountDecimal: string | null;
}

/** Works out amount, currency and price from the three ways Stripe accepts. */
function priced(
  ctx: EmulatorContext,
  q: {
    amount?: number | undefined;
    currency?: string | undefined;
    pricing?: { price?: string | undefined } | undefined;
    price_data?:
      | {
          currency: string;
          product: string;
          unit_amount?: number | undefined;
          unit_amount_decimal?: string | undefined;
        }
      | undefined;
    quantity?: number | undefined;
    unit_amount_decimal?: string | undefined;
  },
  fallbackCurrency?: string,
): Priced {
  const ways = [
    q.amount !== undefined ? 'amount' : null,
    q.pricing?.price !== undefined ? 'pricing[price]' : null,
    q.price_data !== undefined ? 'price_data' : null,
    q.unit_amount_decimal !== undefined ? 'unit_amount_decimal' : null,
  ].filter((w): w is string => w !== null);
  if (ways.length > 1) throw errors.parametersExclusive(ways);
  const quantity = q.quantity ?? 1;
  if (q.pricing?.price !== undefined) {
    const price = requireLive<WirePrice>(ctx, 'price', q.pricing.price, 'price', 'pricing[price]', 400);
    if (price.type !== 'one_time') {
      throw errors.invalidParam(
        'pricing[price]',
        `The price specified is set to \`type=recurring\` but this field only accepts prices with \`type=one_time\`.`,
      );
    }
    if (!price.active)
      throw errors.invalidParam('pricing[price]', `The price \`${price.id}\` is not active.`);
    return {
      amount: (price.unit_amount ?? 0) * quantity,
      currency: price.currency,
      price: price.id,
      product: price.product as string,
      quantity,
      unitAmountDecimal: price.unit_amount_decimal,
    };
  }
  if (q.price_data !== undefined) {
    requireLive(ctx, 'product', q.price_data.product, 'product', 'price_data[product]', 400);
    const price = createPrice(
      ctx,
      q.price_data.product,
      {
        currency: q.price_data.currency,
        ...(q.price_data.unit_amount !== undefined ? { unit_amount: q.price_data.unit_amount } : {}),
        ...(q.price_data.unit_amount_decimal !== undefined
          ? { unit_amount_decimal: q.price_data.unit_amount_decimal }
          : {}),
        active: false,
      },
      'price_data',
    );
    return {
      amount: Math.round(Number(price.unit_amount_decimal ?? 0) * quantity),
      currency: price.currency,
      price: price.id,
      product: q.price_data.product,
      quantity,
      unitAmountDecimal: price.unit_amount_decimal,
    };
  }
  const currencyIn = q.currency ?? fallbackCurrency;
  if (currencyIn === undefined) throw errors.parameterMissing('currency');
  const currency = currencyCode(currencyIn);
  if (q.unit_amount_decimal !== undefined) {
    return {
      amount: Math.round(Number(q.unit_amount_decimal) * quantity),
      currency,
      price: null,
      product: null,
      quantity,
      unitAmountDecimal: q.unit_amount_decimal,
    };
  }
  if (q.amount === undefined) throw errors.parameterMissing('amount');
  return {
    amount: q.amount,
    currency,
    price: null,
    product: null,
    quantity: 1,
    unitAmountDecimal: String(q.amount),
  };
}

function lineOf(item: InvoiceItem): LineInput {
  return {
    amount: item.amount,
    currency: item.currency,
    description: item.description,
    metadata: item.metadata ?? {},
    period: item.period,
    price: (item.pricing?.price_details?.price as string | undefined) ?? null,
    product: item.pricing?.price_details?.product ?? null,
    quantity: item.quantity,
    unitAmountDecimal: item.pricing?.unit_amount_decimal ?? null,
    invoiceItem: item.id,
  };
}

/** A draft invoice an item may be attached to, or Stripe's 400. */
function requireDraft(ctx: EmulatorContext, id: string) {
  const inv = requireInvoice(ctx, id, 'invoice', 400);
  if (inv.status !== 'draft') throw notDraft(inv, 'add invoice items to');
  return inv;
}

export const invoiceItems: ResourceModule = {
  name: 'invoice_items',
  objects: [{ prefix: 'ii_', collection: INVOICE_ITEM }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/invoiceitems',
      params: createFields,
      handler(ctx) {
        const q = ctx.params;
        if (q.subscription !== undefined) {
          throw errors.invalidParam(
            'subscription',
            'The emulator does not attach invoice items to subscriptions.',
          );
        }
        const draft = q.invoice !== undefined ? requireDraft(ctx, q.invoice) : undefined;
        const customerId = q.customer ?? (draft?.customer as string | undefined);
        if (customerId === undefined) throw errors.parameterMissing('customer');
        const customer = requireLive<Stripe.Customer>(
          ctx,
          'customer',
          customerId,
          'customer',
          'customer',
          400,
        );
        if (draft && draft.customer !== customer.id) {
          throw errors.invalidParam('invoice', 'The invoice belongs to another customer.');
        }
        const pr = priced(ctx, q);
        if (draft && draft.currency !== pr.currency) {
          throw errors.invalidParam(
            'currency',
            `The currency of the invoice item (${pr.currency}) must match the invoice's currency (${draft.currency}).`,
          );
        }
        const now = ctx.now();
        const item: InvoiceItem = {
          id: ctx.newId('ii', 24),
          object: 'invoiceitem',
          amount: pr.amount,
          currency: pr.currency,
          customer: customer.id,
          customer_account: null,
          date: now,
          description: q.description ?? null,
          discountable: q.discountable ?? true,
          discounts: [],
          invoice: draft?.id ?? null,
          livemode: false,
          metadata: applyMetadata({}, q.metadata),
          parent: null,
          period: q.period ?? { start: now, end: now },
          pricing: pr.price
            ? {
                type: 'price_details',
                price_details: { price: pr.price, product: pr.product! },
                unit_amount_decimal: pr.unitAmountDecimal,
              }
            : { type: 'price_details', unit_amount_decimal: pr.unitAmountDecimal },
          proration: false,
          quantity: pr.quantity,
          quantity_decimal: String(pr.quantity),
          tax_rates: [],
          test_clock: customer.test_clock as string | null,
        } satisfies InvoiceItem;
        const saved = ctx.store.collection<InvoiceItem>(INVOICE_ITEM).insert(item);
        if (draft) addLineToDraft(ctx, draft.id, lineOf(saved));
        ctx.emit('invoiceitem.created', saved);
        return saved;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoiceitems',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<InvoiceItem>(INVOICE_ITEM)
          .list(
            (i) =>
              (q.customer === undefined || i.customer === q.customer) &&
              (q.invoice === undefined || i.invoice === q.invoice) &&
              (q.pending === undefined || (i.invoice === null) === q.pending) &&
              inRange(i.date, q.created),
          );
        return paginate(ctx, INVOICE_ITEM, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/invoiceitems/:id',
      params: {},
      handler(ctx) {
        const found = ctx.store.collection<InvoiceItem>(INVOICE_ITEM).get(ctx.path.id!);
        if (!found) throw errors.resourceMissing('invoiceitem', ctx.path.id!);
        return found;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/invoiceitems/:id',
      params: pricingFields,
      handler(ctx) {
        const before = requireLive<InvoiceItem>(ctx, INVOICE_ITEM, ctx.path.id!, 'invoiceitem');
        if (before.invoice) requireDraft(ctx, before.invoice as string);
        const q = ctx.params;
        const after: InvoiceItem = structuredClone(before);
        const repriced =
          q.amount !== undefined ||
          q.pricing !== undefined ||
          q.price_data !== undefined ||
          q.unit_amount_decimal !== undefined ||
          q.quantity !== undefined;
        if (repriced) {
          const pr = priced(
            ctx,
            q.amount === undefined &&
              q.pricing === undefined &&
              q.price_data === undefined &&
              q.unit_amount_decimal === undefined
              ? before.pricing?.price_details
                ? { pricing: { price: before.pricing.price_details.price as string }, quantity: q.quantity }
                : { amount: (before.amount / before.quantity) * (q.quantity ?? 1), currency: before.currency }
              : q,
            before.currency,
          );
          after.amount = pr.amount;
          after.quantity = pr.quantity;
          after.quantity_decimal = String(pr.quantity);
          after.pricing = pr.price
            ? {
                type: 'price_details',
                price_details: { price: pr.price, product: pr.product! },
                unit_amount_decimal: pr.unitAmountDecimal,
              }
            : { type: 'price_details', unit_amount_decimal: pr.unitAmountDecimal };
        }
        if (q.description !== undefined) after.description = q.description;
        if (q.discountable !== undefined) after.discountable = q.discountable;
        if (q.period !== undefined) after.period = q.period;
        after.metadata = applyMetadata(before.metadata ?? {}, q.metadata);
        const saved = ctx.store.collection<InvoiceItem>(INVOICE_ITEM).replace(after);
        if (saved.invoice) syncItemLine(ctx, saved.invoice as string, saved.id, lineOf(saved));
        const previous = previousAttributes(before, saved);
        if (previous) ctx.emit('invoiceitem.updated', saved, previous);
        return saved;
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/invoiceitems/:id',
      params: {},
      handler(ctx) {
        const item = requireLive<InvoiceItem>(ctx, INVOICE_ITEM, ctx.path.id!, 'invoiceitem');
        if (item.invoice) {
          const inv = requireInvoice(ctx, item.invoice as string);
          if (inv.status !== 'draft') throw notDraft(inv, 'delete invoice items from');
          syncItemLine(ctx, inv.id, item.id, null);
        }
        const tombstone: Stripe.DeletedInvoiceItem = { id: item.id, object: 'invoiceitem', deleted: true };
        ctx.store.collection(INVOICE_ITEM).markDeleted(item.id, tombstone);
        ctx.emit('invoiceitem.deleted', item);
        return tombstone;
      },
    }),
  ],
};
