/**
 * Creating a product, shared by `products.create` and `prices.create({product_data})` (kept apart
 * from products.ts so prices.ts and products.ts do not import each other).
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { applyMetadata } from '../params.ts';
import type { EmulatorContext } from '../resource.ts';

export const PRODUCT_COLLECTION = 'product';

/** What a new product is made from (the create params minus `default_price_data`). */
export interface ProductInput {
  name: string;
  id?: string;
  active?: boolean;
  description?: string;
  images?: string[];
  marketing_features?: Array<{ name: string }>;
  metadata?: Record<string, string> | null;
  shippable?: boolean;
  statement_descriptor?: string;
  tax_details?: { tax_code?: string | null; performance_location?: string };
  unit_label?: string;
  url?: string;
}

/** A new product with Stripe's defaults; typed against the SDK so shape drift fails to compile. */
export function buildProduct(id: string, created: number, input: ProductInput): Stripe.Product {
  return {
    id,
    object: 'product',
    active: input.active ?? true,
    created,
    default_price: null,
    description: input.description ?? null,
    images: input.images ?? [],
    livemode: false,
    marketing_features: input.marketing_features ?? [],
    metadata: applyMetadata({}, input.metadata),
    name: input.name,
    package_dimensions: null,
    shippable: input.shippable ?? null,
    statement_descriptor: input.statement_descriptor ?? null,
    tax_code: input.tax_details?.tax_code ?? null,
    tax_details: input.tax_details
      ? {
          performance_location: input.tax_details.performance_location ?? null,
          tax_code: input.tax_details.tax_code ?? null,
        }
      : null,
    type: 'service',
    unit_label: input.unit_label ?? null,
    updated: created,
    url: input.url ?? null,
  } satisfies Stripe.Product;
}

/** Inserts a product; the `product.created` event is left to the caller (it may set a default price first). */
export function insertProduct(ctx: EmulatorContext, input: ProductInput): Stripe.Product {
  const products = ctx.store.collection<Stripe.Product>(PRODUCT_COLLECTION);
  if (input.id !== undefined && products.get(input.id))
    throw errors.resourceExists('id', 'Product already exists.');
  return products.insert(buildProduct(input.id ?? ctx.newId('prod'), ctx.now(), input));
}

/** Creates a product and records `product.created`. */
export function createProduct(ctx: EmulatorContext, input: ProductInput): Stripe.Product {
  const product = insertProduct(ctx, input);
  ctx.emit('product.created', product);
  return product;
}
