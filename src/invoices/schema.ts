import { bigint, boolean, date, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** What an invoice is for. */
export const INVOICE_KINDS = [
  'down_payment',
  'remainder',
  'other',
  'instalment',
  'balloon',
  'payoff',
] as const;
export type InvoiceKind = (typeof INVOICE_KINDS)[number];

/** Our invoice states; `creating` until Stripe has the invoice, then Stripe's. */
export type InvoiceStatus = 'creating' | 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

/** Invoices; see migrations/004_invoices_ledger.sql. */
export const invoices = pgTable('invoices', {
  id: text('id').primaryKey(),
  dealerId: text('dealer_id').notNull(),
  buyerId: text('buyer_id').notNull(),
  vehicleId: text('vehicle_id').notNull(),
  kind: text('kind', { enum: INVOICE_KINDS }).notNull(),
  description: text('description').notNull(),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  currency: text('currency').notNull().default('eur'),
  daysUntilDue: integer('days_until_due').notNull(),
  paymentMethodTypes: jsonb('payment_method_types').$type<string[]>().notNull(),
  status: text('status', { enum: ['creating', 'draft', 'open', 'paid', 'void', 'uncollectible'] }).notNull(),
  stripeInvoiceId: text('stripe_invoice_id').unique(),
  number: text('number'),
  hostedInvoiceUrl: text('hosted_invoice_url'),
  dueDate: date('due_date', { mode: 'string' }),
  amountPaid: bigint('amount_paid', { mode: 'number' }).notNull().default(0),
  amountRemaining: bigint('amount_remaining', { mode: 'number' }).notNull(),
  paymentProcessing: boolean('payment_processing').notNull().default(false),
  financingPlanId: text('financing_plan_id'),
  requestKey: text('request_key').unique(),
  stripeSyncedAt: bigint('stripe_synced_at', { mode: 'number' }).notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  paidAt: timestamp('paid_at', { withTimezone: true }),
});

export type InvoiceRow = typeof invoices.$inferSelect;
