import { bigint, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

export const LEDGER_KINDS = [
  'down_payment',
  'remainder',
  'other',
  'instalment',
  'balloon',
  'payoff',
  'refund',
  'returned_debit',
  'dispute',
  'fee',
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** The payment ledger; see migrations/004_invoices_ledger.sql. */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: text('id').primaryKey(),
    dealerId: text('dealer_id').notNull(),
    vehicleId: text('vehicle_id').notNull(),
    buyerId: text('buyer_id'),
    invoiceId: text('invoice_id'),
    kind: text('kind', { enum: LEDGER_KINDS }).notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull().default('eur'),
    settlement: text('settlement', { enum: ['settled', 'processing', 'failed'] }).notNull(),
    paymentMethod: text('payment_method'),
    sourceId: text('source_id').notNull(),
    effect: text('effect').notNull(),
    reasonCode: text('reason_code'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [unique().on(t.sourceId, t.effect)],
);

export type LedgerRow = typeof ledgerEntries.$inferSelect;
