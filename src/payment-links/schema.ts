import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export type PaymentLinkStatus = 'creating' | 'active' | 'processing' | 'paid' | 'failed' | 'deactivated';

/** Payment links; see migrations/005_payment_links_products.sql. */
export const paymentLinks = pgTable('payment_links', {
  id: text('id').primaryKey(),
  dealerId: text('dealer_id').notNull(),
  buyerId: text('buyer_id'),
  vehicleId: text('vehicle_id').notNull(),
  vehicleModel: text('vehicle_model').notNull(),
  kind: text('kind', { enum: ['down_payment', 'remainder', 'other'] }).notNull(),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  buyerEmail: text('buyer_email').notNull(),
  status: text('status', {
    enum: ['creating', 'active', 'processing', 'paid', 'failed', 'deactivated'],
  }).notNull(),
  stripePaymentLinkId: text('stripe_payment_link_id').unique(),
  url: text('url'),
  checkoutSessionId: text('checkout_session_id'),
  paymentIntentId: text('payment_intent_id'),
  requestKey: text('request_key').unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

export type PaymentLinkRow = typeof paymentLinks.$inferSelect;
