/** Prices: create (with `product` or `product_data`), retrieve, update, list; lookup keys. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { Wire } from '../wire.ts';
import { createProduct, PRODUCT_COLLECTION } from './product-store.ts';
import { currencyCode, requireLive, saveUpdate } from './shared.ts';

const COLLECTION = 'price';

/** A price as the API sends it. */
export type WirePrice = Wire<Stripe.Price>;

const intervals = ['day', 'week', 'month', 'year'] as const;
/** The longest interval Stripe accepts, per unit (three years). */
const MAX_INTERVAL_COUNT: Record<(typeof intervals)[number], number> = {
  day: 1095,
  week: 156,
  month: 36,
  year: 3,
};

export const recurringParam = p.object({
  interval: p.enum(intervals).required(),
  interval_count: p.integer({ min: 1 }),
  trial_period_days: p.integer({ min: 0, max: 730 }),
  usage_type: p.enum(['licensed']),
});

export const customUnitAmountParam = p.object({
  enabled: p.boolean().required(),
  maximum: p.integer({ min: 0 }),
  minimum: p.integer({ min: 0 }),
  preset: p.integer({ min: 0 }),
});

/** Price fields that `product.default_price_data` shares with `prices.create`. */
export const priceDataFields = {
  currency: p.string().required(),
  custom_unit_amount: customUnitAmountParam,
  metadata: p.metadata(),
  recurring: recurringParam,
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  unit_amount: p.integer({ min: 0 }),
  unit_amount_decimal: p.decimal(),
};
export type PriceData = Infer<typeof priceDataFields>;

const createFields = {
  ...priceDataFields,
  active: p.boolean(),
  billing_scheme: p.enum(['per_unit']),
  lookup_key: p.string({ maxLength: 200 }),
  nickname: p.string(),
  product: p.string(),
  product_data: p.object({
    name: p.string().required(),
    active: p.boolean(),
    id: p.string(),
    metadata: p.metadata(),
    statement_descriptor: p.string({ maxLength: 22 }),
    tax_code: p.string(),
    unit_label: p.string({ maxLength: 12 }),
  }),
  transfer_lookup_key: p.boolean(),
};

const updateFields = {
  active: p.boolean(),
  lookup_key: p.string({ maxLength: 200 }).emptyable(),
  metadata: p.metadata(),
  nickname: p.string().emptyable(),
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  transfer_lookup_key: p.boolean(),
};

const listParams = {
  ...listFields,
  active: p.boolean(),
  created: p.range(),
  currency: p.string(),
  lookup_keys: p.array(p.string(), { max: 10 }),
  product: p.string(),
  recurring: p.object({ interval: p.enum(intervals), usage_type: p.enum(['licensed', 'metered']) }),
  type: p.enum(['one_time', 'recurring']),
};

/** Makes `lookupKey` free: errors if another price holds it, or moves it away when `transfer` is set. */
function claimLookupKey(
  ctx: EmulatorContext,
  lookupKey: string,
  transfer: boolean | undefined,
  selfId?: string,
): void {
  const prices = ctx.store.collection<WirePrice>(COLLECTION);
  const [holder] = prices.list((pr) => pr.lookup_key === lookupKey && pr.id !== selfId);
  if (!holder) return;
  if (!transfer) {
    throw errors.invalidParam(
      'lookup_key',
      `A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move it to this price.`,
    );
  }
  saveUpdate(ctx, COLLECTION, holder, { ...holder, lookup_key: null }, 'price.updated');
}

/** Creates a price for an existing product (shared with products' `default_price_data`). */
export function createPrice(
  ctx: EmulatorContext,
  productId: string,
  data: PriceData & {
    active?: boolean;
    lookup_key?: string;
    nickname?: string;
    transfer_lookup_key?: boolean;
  },
  paramPrefix = '',
): WirePrice {
  const name = (k: string) => (paramPrefix ? `${paramPrefix}[${k}]` : k);
  const currency = currencyCode(data.currency, name('currency'));
  if (data.unit_amount !== undefined && data.unit_amount_decimal !== undefined) {
    throw errors.parametersExclusive([name('unit_amount'), name('unit_amount_decimal')]);
  }
  const custom = data.custom_unit_amount?.enabled ? data.custom_unit_amount : undefined;
  let unitAmount: number | null = null;
  let unitAmountDecimal: string | null = null;
  if (custom) {
    if (data.unit_amount !== undefined || data.unit_amount_decimal !== undefined) {
      throw errors.parametersExclusive([name('unit_amount'), name('custom_unit_amount')]);
    }
  } else if (data.unit_amount !== undefined) {
    unitAmount = data.unit_amount;
    unitAmountDecimal = String(data.unit_amount);
  } else if (data.unit_amount_decimal !== undefined) {
    unitAmountDecimal = data.unit_amount_decimal;
    unitAmount = Number.isInteger(Number(data.unit_amount_decimal)) ? Number(data.unit_amount_decimal) : null;
  } else {
    throw errors.parameterMissing(name('unit_amount'));
  }
  let recurring: WirePrice['recurring'] = null;
  if (data.recurring) {
    const count = data.recurring.interval_count ?? 1;
    if (count > MAX_INTERVAL_COUNT[data.recurring.interval]) {
      throw errors.invalidParam(
        name('recurring[interval_count]'),
        'The maximum interval allowed is three years (3 years, 36 months, or 156 weeks).',
      );
    }
    recurring = {
      interval: data.recurring.interval,
      interval_count: count,
      meter: null,
      trial_period_days: data.recurring.trial_period_days ?? null,
      usage_type: 'licensed',
    };
  }
  if (data.lookup_key !== undefined) claimLookupKey(ctx, data.lookup_key, data.transfer_lookup_key);
  const price = {
    id: ctx.newId('price', 24),
    object: 'price',
    active: data.active ?? true,
    billing_scheme: 'per_unit',
    created: ctx.now(),
    currency,
    custom_unit_amount: custom
      ? { maximum: custom.maximum ?? null, minimum: custom.minimum ?? null, preset: custom.preset ?? null }
      : null,
    livemode: false,
    lookup_key: data.lookup_key ?? null,
    metadata: applyMetadata({}, data.metadata),
    nickname: data.nickname ?? null,
    product: productId,
    recurring,
    tax_behavior: data.tax_behavior ?? 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: unitAmount,
    unit_amount_decimal: unitAmountDecimal,
  } satisfies WirePrice;
  const saved = ctx.store.collection<WirePrice>(COLLECTION).insert(price);
  ctx.emit('price.created', saved);
  return saved;
}

export const prices: ResourceModule = {
  name: 'prices',
  objects: [{ prefix: 'price_', collection: COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/prices',
      params: createFields,
      handler(ctx) {
        const { product, product_data, ...data } = ctx.params;
        if (product !== undefined && product_data !== undefined)
          throw errors.parametersExclusive(['product', 'product_data']);
        let productId: string;
        if (product !== undefined) {
          productId = requireLive(ctx, PRODUCT_COLLECTION, product, 'product', 'product', 400).id;
        } else if (product_data !== undefined) {
          const { tax_code, ...rest } = product_data;
          productId = createProduct(ctx, {
            ...rest,
            ...(tax_code !== undefined ? { tax_details: { tax_code } } : {}),
          }).id;
        } else {
          throw errors.parameterMissing('product');
        }
        return createPrice(ctx, productId, data);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/prices',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<WirePrice>(COLLECTION)
          .list(
            (pr) =>
              (q.active === undefined || pr.active === q.active) &&
              (q.currency === undefined || pr.currency === q.currency.toLowerCase()) &&
              (q.product === undefined || pr.product === q.product) &&
              (q.type === undefined || pr.type === q.type) &&
              (q.lookup_keys === undefined ||
                (pr.lookup_key !== null && q.lookup_keys.includes(pr.lookup_key))) &&
              (q.recurring?.interval === undefined || pr.recurring?.interval === q.recurring.interval) &&
              (q.recurring?.usage_type === undefined ||
                pr.recurring?.usage_type === q.recurring.usage_type) &&
              inRange(pr.created, q.created),
          );
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/prices/:id',
      params: {},
      handler(ctx) {
        return requireLive<WirePrice>(ctx, COLLECTION, ctx.path.id!, 'price');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/prices/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<WirePrice>(ctx, COLLECTION, ctx.path.id!, 'price');
        const q = ctx.params;
        const after: WirePrice = structuredClone(before);
        if (q.active !== undefined) after.active = q.active;
        if (q.lookup_key !== undefined) {
          if (q.lookup_key !== null) claimLookupKey(ctx, q.lookup_key, q.transfer_lookup_key, before.id);
          after.lookup_key = q.lookup_key;
        }
        after.metadata = applyMetadata(after.metadata, q.metadata);
        if (q.nickname !== undefined) after.nickname = q.nickname;
        if (q.tax_behavior !== undefined) {
          if (before.tax_behavior !== 'unspecified' && before.tax_behavior !== q.tax_behavior) {
            throw errors.invalidParam(
              'tax_behavior',
              'tax_behavior cannot be changed once it is exclusive or inclusive.',
            );
          }
          after.tax_behavior = q.tax_behavior;
        }
        return saveUpdate(ctx, COLLECTION, before, after, 'price.updated');
      },
    }),
  ],
};
