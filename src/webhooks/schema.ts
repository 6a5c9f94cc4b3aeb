import { bigint, boolean, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type Stripe from 'stripe';

/** The webhook inbox; see migrations/003_webhook_inbox.sql. */
export const webhookInbox = pgTable('webhook_inbox', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  livemode: boolean('livemode').notNull(),
  created: bigint('created', { mode: 'number' }).notNull(),
  payload: jsonb('payload').$type<Stripe.Event>().notNull(),
  status: text('status', { enum: ['pending', 'processing', 'succeeded', 'failed'] }).notNull(),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  lastError: text('last_error'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  processedAt: timestamp('processed_at', { withTimezone: true }),
});

export type InboxRow = typeof webhookInbox.$inferSelect;
