/**
 * The Stripe catalogue of financing: one Product per vehicle model, reused by every contract, and one
 * monthly Price per model and amount, found again by its lookup key. A Product per contract would bloat
 * the catalogue for good (Products with Prices cannot be deleted); the contract's ids go into the
 * schedule's and subscription's metadata instead.
 */
import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Db } from '../platform/db/index.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { stripeProducts } from './schema.ts';

/** A model's key: case, spacing and punctuation do not make another model ("Palace 90G" = "palace-90g"). */
export function modelKey(model: string): string {
  const slug = model
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'model';
}

/**
 * The Product of a vehicle model, created at Stripe the first time the model is financed. The idempotency
 * key is derived from the model, so two first contracts of a model at once still make one Product.
 */
export async function productForModel(db: Db, stripe: Stripe, model: string, now: Date): Promise<string> {
  const key = modelKey(model);
  const [known] = await db.select().from(stripeProducts).where(eq(stripeProducts.modelKey, key));
  if (known) return known.stripeProductId;
  const product = await stripe.products
    .create(
      {
        name: `MORELO ${model.trim()} – Finanzierung`,
        metadata: { kind: 'financing', modelKey: key },
      },
      { idempotencyKey: stripeIdempotencyKey('product', key, 'create') },
    )
    .catch(wrapStripeError);
  await db
    .insert(stripeProducts)
    .values({ modelKey: key, vehicleModel: model.trim(), stripeProductId: product.id, createdAt: now })
    .onConflictDoNothing({ target: stripeProducts.modelKey });
  const [row] = await db.select().from(stripeProducts).where(eq(stripeProducts.modelKey, key));
  return row?.stripeProductId ?? product.id;
}

/** The lookup key of a model's monthly price of `amount` cents. */
export function priceLookupKey(model: string, amount: number): string {
  return `financing:${modelKey(model)}:${amount}`;
}

/**
 * The monthly EUR Price of `amount` cents on the model's Product: the one holding the lookup key when it
 * fits, else a new one that takes the key over. The idempotency key names product and amount, so a race
 * of two contracts with the same rate makes one Price.
 */
export async function monthlyPriceFor(
  stripe: Stripe,
  productId: string,
  model: string,
  amount: number,
): Promise<string> {
  const lookupKey = priceLookupKey(model, amount);
  const found = await stripe.prices
    .list({ lookup_keys: [lookupKey], active: true, limit: 1 })
    .catch(wrapStripeError);
  const fits = found.data.find(
    (price) =>
      price.product === productId &&
      price.unit_amount === amount &&
      price.currency === 'eur' &&
      price.recurring?.interval === 'month' &&
      price.recurring.interval_count === 1,
  );
  if (fits) return fits.id;
  const price = await stripe.prices
    .create(
      {
        product: productId,
        currency: 'eur',
        unit_amount: amount,
        recurring: { interval: 'month', interval_count: 1 },
        lookup_key: lookupKey,
        transfer_lookup_key: true,
        metadata: { kind: 'financing' },
      },
      { idempotencyKey: stripeIdempotencyKey('price', `${productId}:${amount}`, 'create-monthly') },
    )
    .catch(wrapStripeError);
  return price.id;
}
