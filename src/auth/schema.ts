import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Dealers: the tenants. */
export const dealers = pgTable('dealers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/** API keys, stored as SHA-256 hashes. */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  keyHash: text('key_hash').notNull().unique(),
  role: text('role', { enum: ['admin', 'dealer'] }).notNull(),
  dealerId: text('dealer_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});
