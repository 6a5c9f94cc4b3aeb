import { bigint, date, index, jsonb, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

/** A postal address as the API and the Stripe customer carry it. */
export interface PostalAddress {
  line1: string;
  line2?: string | undefined;
  postalCode?: string | undefined;
  city?: string | undefined;
  country: string;
}

/** Buyers (Käufer); see migrations/002_buyers.sql. */
export const buyers = pgTable(
  'buyers',
  {
    id: text('id').primaryKey(),
    dealerId: text('dealer_id').notNull(),
    buyerRef: text('buyer_ref').notNull(),
    vehicleId: text('vehicle_id').notNull(),
    type: text('type', { enum: ['consumer', 'business'] }).notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    phone: text('phone'),
    address: jsonb('address').$type<PostalAddress>().notNull(),
    vatId: text('vat_id'),
    stripeCustomerId: text('stripe_customer_id').unique(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    stripeSyncedAt: bigint('stripe_synced_at', { mode: 'number' }).notNull().default(0),
    /** EUR cents in the buyer's Stripe cash balance that no invoice took (migrations/014). */
    unappliedTransferAmount: bigint('unapplied_transfer_amount', { mode: 'number' }).notNull().default(0),
    /** The business day that money started waiting; null when none waits. */
    unappliedTransferSince: date('unapplied_transfer_since', { mode: 'string' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique().on(t.dealerId, t.buyerRef),
    index('buyers_dealer_created').on(t.dealerId, t.createdAt, t.id),
  ],
);

export type BuyerRow = typeof buyers.$inferSelect;
