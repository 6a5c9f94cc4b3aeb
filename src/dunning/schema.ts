import {
  bigint,
  bigserial,
  boolean,
  date,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';
import type { DebtorType } from './interest.ts';
import type { LetterItem } from './letter.ts';
import type { DunningPolicy, DunningPolicyOverride } from './policy.ts';

/** Where a case came from. */
export type CaseOrigin = 'overdue' | 'payment_failed' | 'returned_debit';
/** The lifecycle of a case; the stop flags (paused, disputed) are kept beside it. */
export type CaseStage = 'dunning' | 'awaiting_decision' | 'escalated' | 'closed';
/** What the API shows: the stage, with `paused` whenever something stops the letters. */
export type CaseStatus = 'open' | 'paused' | 'awaiting_decision' | 'escalated' | 'closed';
/** A human's decision after the last letter; `call_loan` is the § 498 BGB Gesamtfälligstellung. */
export type EscalationAction = 'collection' | 'court' | 'write_off' | 'call_loan';

const DEBTOR = ['consumer', 'business'] as const satisfies readonly DebtorType[];

/** The admin's policy per debtor type; see migrations/008_dunning.sql. */
export const dunningPolicies = pgTable('dunning_policies', {
  debtorType: text('debtor_type', { enum: DEBTOR }).primaryKey(),
  policy: jsonb('policy').$type<DunningPolicy>().notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** A dealer's override of the admin's policy. */
export const dunningPolicyOverrides = pgTable(
  'dunning_policy_overrides',
  {
    dealerId: text('dealer_id').notNull(),
    debtorType: text('debtor_type', { enum: DEBTOR }).notNull(),
    override: jsonb('override').$type<DunningPolicyOverride>().notNull(),
    updatedBy: text('updated_by').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.dealerId, t.debtorType] })],
);

/** The creditor printed in a dealer's letters. */
export const dunningCreditorProfiles = pgTable('dunning_creditor_profiles', {
  dealerId: text('dealer_id').primaryKey(),
  name: text('name').notNull(),
  address: text('address').notNull(),
  vatId: text('vat_id'),
  iban: text('iban').notNull(),
  bic: text('bic').notNull(),
  bankName: text('bank_name').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** Dunning cases, one per invoice. */
export const dunningCases = pgTable('dunning_cases', {
  id: text('id').primaryKey(),
  dealerId: text('dealer_id').notNull(),
  invoiceId: text('invoice_id').notNull().unique(),
  buyerId: text('buyer_id').notNull(),
  debtorType: text('debtor_type', { enum: DEBTOR }).notNull(),
  policy: jsonb('policy').$type<DunningPolicy>().notNull(),
  origin: text('origin', { enum: ['overdue', 'payment_failed', 'returned_debit'] }).notNull(),
  stage: text('stage', { enum: ['dunning', 'awaiting_decision', 'escalated', 'closed'] }).notNull(),
  status: text('status', {
    enum: ['open', 'paused', 'awaiting_decision', 'escalated', 'closed'],
  }).notNull(),
  level: integer('level').notNull().default(0),
  dueDate: date('due_date', { mode: 'string' }).notNull(),
  paused: boolean('paused').notNull().default(false),
  buyerPaused: boolean('buyer_paused').notNull().default(false),
  /**
   * Bank-transfer money of the buyer Stripe could not match to an invoice (migrations/014), copied from the
   * buyer with the day it started waiting: letters wait for a while (`unappliedTransferHolds`).
   */
  buyerUnappliedTransfer: bigint('buyer_unapplied_transfer', { mode: 'number' }).notNull().default(0),
  buyerUnappliedTransferSince: date('buyer_unapplied_transfer_since', { mode: 'string' }),
  disputed: boolean('disputed').notNull().default(false),
  pauseReason: text('pause_reason'),
  returnReasonCode: text('return_reason_code'),
  /** Stripe's failure code behind `returnReasonCode` (migrations/012), kept as Stripe reported it. */
  returnFailureCode: text('return_failure_code'),
  mayRedebit: boolean('may_redebit').notNull().default(true),
  /**
   * A settled SEPA debit the buyer reclaimed (migrations/013): the claim re-opened for this amount while the
   * invoice stays paid at Stripe. Null for every other case, whose open amount is the invoice's remainder.
   */
  reclaimedAmount: bigint('reclaimed_amount', { mode: 'number' }),
  /** The Stripe dispute that took the reclaimed money back. */
  reclaimDisputeId: text('reclaim_dispute_id'),
  escalation: text('escalation', { enum: ['collection', 'court', 'write_off', 'call_loan'] }),
  escalatedAt: timestamp('escalated_at', { withTimezone: true }),
  closedReason: text('closed_reason'),
  closedAt: timestamp('closed_at', { withTimezone: true }),
  openedOn: date('opened_on', { mode: 'string' }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

export type CaseRow = typeof dunningCases.$inferSelect;

/** Letters; unique per (case, level). */
export const dunningLetters = pgTable(
  'dunning_letters',
  {
    id: text('id').primaryKey(),
    caseId: text('case_id').notNull(),
    dealerId: text('dealer_id').notNull(),
    level: integer('level').notNull(),
    levelName: text('level_name').notNull(),
    letterDate: date('letter_date', { mode: 'string' }).notNull(),
    deadline: date('deadline', { mode: 'string' }).notNull(),
    recipientEmail: text('recipient_email').notNull(),
    subject: text('subject').notNull(),
    bodyText: text('body_text').notNull(),
    bodyHtml: text('body_html').notNull(),
    items: jsonb('items').$type<LetterItem[]>().notNull(),
    openAmount: bigint('open_amount', { mode: 'number' }).notNull(),
    interest: bigint('interest', { mode: 'number' }).notNull(),
    fees: bigint('fees', { mode: 'number' }).notNull(),
    flatFee: bigint('flat_fee', { mode: 'number' }).notNull(),
    totalDue: bigint('total_due', { mode: 'number' }).notNull(),
    paymentUrl: text('payment_url'),
    paymentUrlKind: text('payment_url_kind', { enum: ['hosted_invoice', 'payment_link'] }),
    creditorPlaceholder: boolean('creditor_placeholder').notNull(),
    status: text('status', { enum: ['queued', 'sent', 'withdrawn'] }).notNull(),
    deliveredVia: text('delivered_via'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [unique().on(t.caseId, t.level)],
);

export type LetterRow = typeof dunningLetters.$inferSelect;

/** Mahnstopp per buyer. */
export const dunningBuyerPauses = pgTable('dunning_buyer_pauses', {
  buyerId: text('buyer_id').primaryKey(),
  dealerId: text('dealer_id').notNull(),
  reason: text('reason').notNull(),
  pausedBy: text('paused_by').notNull(),
  pausedAt: timestamp('paused_at', { withTimezone: true }).notNull(),
});

/** The audit trail. */
export const dunningAudit = pgTable('dunning_audit', {
  id: text('id').primaryKey(),
  seq: bigserial('seq', { mode: 'number' }).notNull(),
  caseId: text('case_id'),
  buyerId: text('buyer_id'),
  dealerId: text('dealer_id').notNull(),
  action: text('action').notNull(),
  actor: text('actor').notNull(),
  reason: text('reason'),
  details: jsonb('details').$type<Record<string, unknown>>(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

export type AuditRow = typeof dunningAudit.$inferSelect;
