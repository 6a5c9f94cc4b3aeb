import { eq } from 'drizzle-orm';
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { ServiceDeps } from '../platform/deps.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';

/** Vehicle model → its one Stripe Product. */
export const stripeProducts = pgTable('stripe_products', {
  vehicleModel: text('vehicle_model').primaryKey(),
  stripeProductId: text('stripe_product_id').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/**
 * The Stripe Product of a vehicle model, created once. Products with prices cannot be deleted, so one per model
 * (not per contract) keeps the catalogue small; contract and vehicle ids travel in metadata instead.
 */
export async function productForModel(deps: ServiceDeps, vehicleModel: string): Promise<string> {
  const model = vehicleModel.trim();
  const [known] = await deps.db.select().from(stripeProducts).where(eq(stripeProducts.vehicleModel, model));
  if (known) return known.stripeProductId;
  const product = await deps.stripe.products
    .create(
      { name: `MORELO ${model}`, metadata: { vehicleModel: model } },
      { idempotencyKey: stripeIdempotencyKey('product', Buffer.from(model).toString('base64url'), 'create') },
    )
    .catch(wrapStripeError);
  await deps.db
    .insert(stripeProducts)
    .values({ vehicleModel: model, stripeProductId: product.id, createdAt: new Date(deps.clock.now()) })
    .onConflictDoNothing({ target: stripeProducts.vehicleModel });
  const [stored] = await deps.db.select().from(stripeProducts).where(eq(stripeProducts.vehicleModel, model));
  return stored?.stripeProductId ?? product.id;
}
