/**
 * Dunning verbs for the API: policies, the creditor profile, case views, Mahnstopp, escalation, and
 * the facts events bring in (returned debits, disputes). The daily work is in scheduler.ts.
 */
import { and, asc, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Scope } from '../auth/keys.ts';
import { dealers } from '../auth/schema.ts';
import { type BuyerRow, buyers, type PostalAddress } from '../customers/schema.ts';
import { BUYERS, getBuyerRow } from '../customers/service.ts';
import type { TerminationCheck } from '../financing/arrears.ts';
import { financingPlans, owesRemainingLoan } from '../financing/schema.ts';
import { payOffPlan, terminationCheckFor } from '../financing/service.ts';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import { INVOICES } from '../invoices/service.ts';
import { type BusinessDate, berlinDate, daysBetween } from '../platform/dates.ts';
import type { Db } from '../platform/db/index.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import {
  AppError,
  ConflictError,
  type ErrorDetail,
  NotFoundError,
  ValidationError,
} from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { type Cents, cents, sumCents } from '../platform/money.ts';
import { afterCursor, newestFirst, toPage } from '../platform/pagination.ts';
import { collectionTags, tags, tenantFilter } from '../platform/tenancy.ts';
import { wrapStripeError } from '../stripe/errors.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { currentBaseRateTable } from './base-rate-settings.ts';
import type { BaseRateTable } from './base-rates.ts';
import { DunningError, InconsistentDunningHistoryError, InvalidDunningPolicyError } from './errors.ts';
import {
  businessFlatFee,
  calculateDefaultInterest,
  type DebtorType,
  type DefaultInterest,
  defaultStartForDueDate,
} from './interest.ts';
import type { LetterCreditor } from './letter.ts';
import { type NextDunningAction, nextActionDate, type SentLetter } from './plan.ts';
import {
  type Charge,
  DEFAULT_POLICIES,
  type DunningPolicy,
  type DunningPolicyOverride,
  feesUpToLevel,
  financingPolicy,
  levelOf,
  mergePolicy,
  parseDunningPolicy,
} from './policy.ts';
import {
  type AuditRow,
  type CaseRow,
  type CaseStage,
  type CaseStatus,
  dunningAudit,
  dunningBuyerPauses,
  dunningCases,
  dunningCreditorProfiles,
  dunningLetters,
  dunningPolicies,
  dunningPolicyOverrides,
  type EscalationAction,
  type LetterRow,
} from './schema.ts';
import { mayRedebitAfter } from './sepa-returns.ts';

/** The cache collection of dunning cases (only invalidated today; the routes read uncached). */
export const DUNNING = 'dunning';

/** Who acted, as the audit trail writes it. */
export function actorOf(scope: Scope): string {
  return scope.kind === 'admin' ? 'admin' : `dealer:${scope.dealerId}`;
}

/**
 * Turns an error of the pure dunning core into the app's catalogue. Policy problems are the caller's
 * input, so they answer 400 with each field under `fieldPrefix` (e.g. `body.levels.2.daysAfterDue`).
 */
export function toAppError(err: unknown, fieldPrefix = 'body'): unknown {
  if (!(err instanceof DunningError)) return err;
  const details: ErrorDetail[] = err.details.map((d) => ({
    field: d.path === '(root)' ? fieldPrefix : `${fieldPrefix}.${d.path}`,
    message: d.message,
  }));
  if (err instanceof InvalidDunningPolicyError) return new ValidationError(err.message, details, err.code);
  if (err instanceof InconsistentDunningHistoryError) return new ConflictError(err.message, err.code);
  return new AppError(err.code, err.statusCode, err.message, details);
}

/** The status the API shows, derived from the stage and the stop flags. */
export function statusOf(c: Pick<CaseRow, 'stage' | 'paused' | 'buyerPaused' | 'disputed'>): CaseStatus {
  if (c.stage === 'closed') return 'closed';
  if (c.stage === 'escalated') return 'escalated';
  if (c.paused || c.buyerPaused || c.disputed) return 'paused';
  return c.stage === 'awaiting_decision' ? 'awaiting_decision' : 'open';
}

/** Writes a change to a case and keeps `status` in step with it. */
export async function updateCase(
  tx: Db,
  row: CaseRow,
  patch: Partial<Omit<CaseRow, 'id' | 'status'>>,
  now: Date,
): Promise<CaseRow> {
  const merged = { ...row, ...patch };
  const [updated] = await tx
    .update(dunningCases)
    .set({ ...patch, status: statusOf(merged), updatedAt: now })
    .where(eq(dunningCases.id, row.id))
    .returning();
  return updated ?? { ...merged, status: statusOf(merged), updatedAt: now };
}

/** Appends to the audit trail. */
export async function audit(
  tx: Db,
  entry: {
    caseId: string | null;
    buyerId?: string | null;
    dealerId: string;
    action: string;
    actor: string;
    reason?: string | null;
    details?: Record<string, unknown> | null;
  },
  now: Date,
): Promise<void> {
  await tx.insert(dunningAudit).values({
    id: newId('dau'),
    caseId: entry.caseId,
    buyerId: entry.buyerId ?? null,
    dealerId: entry.dealerId,
    action: entry.action,
    actor: entry.actor,
    reason: entry.reason ?? null,
    details: entry.details ?? null,
    createdAt: now,
  });
}

/** Cache tags that show a case's invoice or buyer. */
export function caseTags(row: Pick<CaseRow, 'dealerId' | 'invoiceId' | 'buyerId'>): string[] {
  return [
    ...collectionTags(DUNNING, row.dealerId),
    tags.object(INVOICES, row.invoiceId),
    tags.object(BUYERS, row.buyerId),
  ];
}

// ---------------------------------------------------------------------------------------------- policies

/** The admin's policy for a debtor type, or the shipped default. */
export async function basePolicy(
  db: Db,
  debtorType: DebtorType,
): Promise<{ policy: DunningPolicy; source: 'default' | 'configured' }> {
  const [row] = await db.select().from(dunningPolicies).where(eq(dunningPolicies.debtorType, debtorType));
  return row
    ? { policy: parseDunningPolicy(row.policy), source: 'configured' }
    : { policy: DEFAULT_POLICIES[debtorType], source: 'default' };
}

/** The policy that applies to a dealer's buyers of one type: the base with the dealer's override. */
export async function effectivePolicy(
  db: Db,
  dealerId: string,
  debtorType: DebtorType,
): Promise<DunningPolicy> {
  const { policy } = await basePolicy(db, debtorType);
  const [override] = await db
    .select()
    .from(dunningPolicyOverrides)
    .where(
      and(eq(dunningPolicyOverrides.dealerId, dealerId), eq(dunningPolicyOverrides.debtorType, debtorType)),
    );
  return mergePolicy(policy, override?.override);
}

/** The admin's view of a policy: base, where it comes from, and every dealer override. */
export async function describePolicy(deps: ServiceDeps, debtorType: DebtorType, dealerId?: string) {
  const base = await basePolicy(deps.db, debtorType);
  const overrides = await deps.db
    .select()
    .from(dunningPolicyOverrides)
    .where(eq(dunningPolicyOverrides.debtorType, debtorType))
    .orderBy(asc(dunningPolicyOverrides.dealerId));
  return {
    debtorType,
    source: base.source,
    policy: base.policy,
    dealerOverrides: overrides.map((o) => ({
      dealerId: o.dealerId,
      override: o.override,
      updatedAt: o.updatedAt.toISOString(),
    })),
    ...(dealerId
      ? { effectiveForDealer: { dealerId, policy: await effectivePolicy(deps.db, dealerId, debtorType) } }
      : {}),
  };
}

/**
 * Replaces the admin's policy for a debtor type. Every stored dealer override must still give a valid
 * policy on top of it; otherwise nothing changes and the answer names the dealer and field.
 */
export async function setBasePolicy(
  deps: ServiceDeps,
  scope: Scope,
  debtorType: DebtorType,
  body: unknown,
): Promise<DunningPolicy> {
  const input =
    body && typeof body === 'object' && !Array.isArray(body) && !('debtorType' in body)
      ? { ...body, debtorType }
      : body;
  let policy: DunningPolicy;
  try {
    policy = parseDunningPolicy(input);
  } catch (err) {
    throw toAppError(err);
  }
  if (policy.debtorType !== debtorType) {
    throw new ValidationError('The policy is for another debtor type.', [
      { field: 'body.debtorType', message: `must be ${debtorType} (the path names it)` },
    ]);
  }
  const overrides = await deps.db
    .select()
    .from(dunningPolicyOverrides)
    .where(eq(dunningPolicyOverrides.debtorType, debtorType));
  for (const o of overrides) {
    try {
      mergePolicy(policy, o.override);
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr instanceof ValidationError) {
        throw new ValidationError(
          `With this policy the override of dealer ${o.dealerId} would be invalid; change or remove it first.`,
          appErr.details,
          'invalid_dunning_policy',
        );
      }
      throw appErr;
    }
  }
  const now = new Date(deps.clock.now());
  await deps.db
    .insert(dunningPolicies)
    .values({ debtorType, policy, updatedBy: actorOf(scope), updatedAt: now })
    .onConflictDoUpdate({
      target: dunningPolicies.debtorType,
      set: { policy, updatedBy: actorOf(scope), updatedAt: now },
    });
  return policy;
}

/** Sets (or replaces) a dealer's override; validated by merging it onto the current base. */
export async function setDealerOverride(
  deps: ServiceDeps,
  scope: Scope,
  debtorType: DebtorType,
  dealerId: string,
  override: unknown,
): Promise<DunningPolicy> {
  const [dealer] = await deps.db.select({ id: dealers.id }).from(dealers).where(eq(dealers.id, dealerId));
  if (!dealer) throw new NotFoundError('Dealer', dealerId);
  const { policy: base } = await basePolicy(deps.db, debtorType);
  let effective: DunningPolicy;
  try {
    effective = mergePolicy(base, override as DunningPolicyOverride);
  } catch (err) {
    throw toAppError(err);
  }
  const now = new Date(deps.clock.now());
  const value = override as DunningPolicyOverride;
  await deps.db
    .insert(dunningPolicyOverrides)
    .values({ dealerId, debtorType, override: value, updatedBy: actorOf(scope), updatedAt: now })
    .onConflictDoUpdate({
      target: [dunningPolicyOverrides.dealerId, dunningPolicyOverrides.debtorType],
      set: { override: value, updatedBy: actorOf(scope), updatedAt: now },
    });
  return effective;
}

/** Removes a dealer's override; returns whether there was one. */
export async function removeDealerOverride(deps: ServiceDeps, debtorType: DebtorType, dealerId: string) {
  const removed = await deps.db
    .delete(dunningPolicyOverrides)
    .where(
      and(eq(dunningPolicyOverrides.dealerId, dealerId), eq(dunningPolicyOverrides.debtorType, debtorType)),
    )
    .returning({ dealerId: dunningPolicyOverrides.dealerId });
  return removed.length > 0;
}

// ------------------------------------------------------------------------------------------ creditor data

/**
 * Printed when a dealer has not entered its creditor data yet. The IBAN is the public Bundesbank test
 * IBAN (valid checksum, no real account); letters with it are flagged `creditorPlaceholder`.
 */
export const PLACEHOLDER_CREDITOR: Omit<LetterCreditor, 'name'> = {
  address: 'Anschrift nicht hinterlegt',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
  bankName: 'Bankverbindung nicht hinterlegt',
};

/** The creditor of a dealer's letters, and whether placeholders stand in for missing data. */
export async function creditorOf(
  db: Db,
  dealerId: string,
): Promise<{ creditor: LetterCreditor; placeholder: boolean }> {
  const [profile] = await db
    .select()
    .from(dunningCreditorProfiles)
    .where(eq(dunningCreditorProfiles.dealerId, dealerId));
  if (profile) {
    return {
      creditor: {
        name: profile.name,
        address: profile.address,
        ...(profile.vatId ? { vatId: profile.vatId } : {}),
        iban: profile.iban,
        bic: profile.bic,
        bankName: profile.bankName,
      },
      placeholder: false,
    };
  }
  const [dealer] = await db.select({ name: dealers.name }).from(dealers).where(eq(dealers.id, dealerId));
  return { creditor: { name: dealer?.name ?? 'Händler', ...PLACEHOLDER_CREDITOR }, placeholder: true };
}

/** Creditor data as entered by the dealer (or the admin for a dealer). */
export interface CreditorProfileInput {
  dealerId?: string | undefined;
  name: string;
  address: string;
  vatId?: string | undefined;
  iban: string;
  bic: string;
  bankName: string;
}

/** Stores the creditor data printed in the dealer's letters. */
export async function setCreditorProfile(deps: ServiceDeps, dealerId: string, input: CreditorProfileInput) {
  const now = new Date(deps.clock.now());
  const values = {
    name: input.name,
    address: input.address,
    vatId: input.vatId ?? null,
    iban: input.iban.replace(/\s+/g, '').toUpperCase(),
    bic: input.bic,
    bankName: input.bankName,
    updatedAt: now,
  };
  await deps.db
    .insert(dunningCreditorProfiles)
    .values({ dealerId, ...values })
    .onConflictDoUpdate({ target: dunningCreditorProfiles.dealerId, set: values });
  return creditorOf(deps.db, dealerId);
}

// ------------------------------------------------------------------------------------------------ amounts

/** What the buyer owes on a case on one day, itemised. */
export interface CaseAmounts {
  openAmount: Cents;
  interest: DefaultInterest;
  fees: Charge[];
  feesTotal: Cents;
  flatFee: Cents;
  /** § 288 Abs. 5 S. 3 BGB: fees are credited against the flat fee, so they are not owed twice. */
  feeCredit: Cents;
  total: Cents;
}

/** Interest up to `asOf`, the fees of the letters sent, and the flat fee of a business debtor. */
export function amountsOf(
  c: Pick<CaseRow, 'policy' | 'debtorType' | 'dueDate' | 'level'>,
  openAmount: number,
  asOf: BusinessDate,
  table?: BaseRateTable,
): CaseAmounts {
  const principal = cents(Math.max(0, openAmount));
  const interest = calculateDefaultInterest({
    principal,
    defaultStart: defaultStartForDueDate(c.dueDate as BusinessDate),
    until: asOf,
    debtorType: c.debtorType,
    ...(table ? { table } : {}),
  });
  const fees = feesUpToLevel(c.policy, c.level);
  const feesTotal = sumCents(fees.map((f) => f.amount));
  const flatFee = businessFlatFee(c.debtorType);
  const feeCredit = cents(Math.min(feesTotal, flatFee));
  return {
    openAmount: principal,
    interest,
    fees,
    feesTotal,
    flatFee,
    feeCredit,
    total: sumCents([principal, interest.total, feesTotal, flatFee, -feeCredit]),
  };
}

// -------------------------------------------------------------------------------------------------- views

/** A case as the list shows it. */
export interface CaseSummary {
  id: string;
  status: CaseStatus;
  stage: CaseStage;
  origin: CaseRow['origin'];
  invoice: {
    id: string;
    number: string | null;
    kind: string;
    amount: number;
    dueDate: string;
    status: string;
  };
  buyer: { id: string; name: string; type: DebtorType };
  level: number;
  levelName: string | null;
  levelCount: number;
  daysOverdue: number;
  openAmount: number;
  interest: number;
  fees: number;
  flatFee: number;
  totalClaim: number;
  nextAction: NextDunningAction;
  paused: boolean;
  pauseReason: string | null;
  buyerPaused: boolean;
  disputed: boolean;
  paymentProcessing: boolean;
  /** The buyer's bank-transfer money Stripe matched to no invoice; letters wait while it is above 0. */
  unappliedTransfer: number;
  returnReasonCode: string | null;
  /** Stripe's failure code behind the return reason, as Stripe reported it. */
  returnFailureCode: string | null;
  mayRedebit: boolean;
  escalation: EscalationAction | null;
  closedReason: string | null;
  createdAt: string;
}

/**
 * What a case claims: for a reclaimed SEPA debit the reclaimed amount (the invoice itself stays paid at
 * Stripe), nothing once that case closed as paid; for every other case the invoice's remainder.
 */
export function openAmountOf(
  c: Pick<CaseRow, 'reclaimedAmount' | 'stage' | 'closedReason'>,
  invoice: Pick<InvoiceRow, 'amountRemaining'>,
): number {
  if (c.reclaimedAmount === null) return invoice.amountRemaining;
  return c.stage === 'closed' && c.closedReason === 'paid' ? 0 : c.reclaimedAmount;
}

/** How long an unmatched bank transfer holds a buyer's letters: time to match it or send it back. */
export const UNAPPLIED_TRANSFER_HOLD_DAYS = 14;

/**
 * Whether the buyer's unmatched bank-transfer money holds this case's letters on `on`: for
 * UNAPPLIED_TRANSFER_HOLD_DAYS from the day it arrived. After that the ladder goes on — otherwise a token
 * transfer would stop dunning for good; the dealer sees the money on the buyer all along.
 */
export function unappliedTransferHolds(
  c: Pick<CaseRow, 'buyerUnappliedTransfer' | 'buyerUnappliedTransferSince'>,
  on: BusinessDate,
): boolean {
  if (c.buyerUnappliedTransfer <= 0 || !c.buyerUnappliedTransferSince) return false;
  return daysBetween(c.buyerUnappliedTransferSince as BusinessDate, on) < UNAPPLIED_TRANSFER_HOLD_DAYS;
}

/** A payment under way for the claim: the invoice's debit in flight (a reclaimed debit's invoice has none). */
export function paymentInFlight(
  c: Pick<CaseRow, 'reclaimedAmount'>,
  invoice: Pick<InvoiceRow, 'paymentProcessing'>,
): boolean {
  return c.reclaimedAmount === null && invoice.paymentProcessing;
}

function today(deps: ServiceDeps): BusinessDate {
  return berlinDate(deps.clock.now());
}

function summarise(
  c: CaseRow,
  invoice: InvoiceRow,
  buyer: Pick<BuyerRow, 'id' | 'name'>,
  letters: readonly SentLetter[],
  on: BusinessDate,
  table: BaseRateTable,
): CaseSummary & { amounts: CaseAmounts } {
  const asOf = c.closedAt ? berlinDate(c.closedAt.getTime()) : on;
  const owed = openAmountOf(c, invoice);
  const open = c.stage === 'closed' ? Math.max(0, owed) : owed;
  const amounts = amountsOf(c, open, asOf, table);
  const active = c.stage === 'dunning' || c.stage === 'awaiting_decision';
  let nextAction: NextDunningAction = {
    action: 'none',
    on: null,
    reason: c.stage === 'closed' ? 'paid' : 'waiting',
  };
  if (active) {
    try {
      nextAction = nextActionDate({
        policy: c.policy,
        dueDate: c.dueDate as BusinessDate,
        today: on,
        lettersSent: letters,
        paused: c.paused || c.buyerPaused,
        openAmount: owed,
        paymentProcessing: paymentInFlight(c, invoice),
        disputed: c.disputed,
        unappliedTransfer: unappliedTransferHolds(c, on),
      });
    } catch (err) {
      if (!(err instanceof DunningError)) throw err;
      nextAction = { action: 'none', on: null, reason: 'waiting' };
    }
  }
  return {
    id: c.id,
    status: c.status,
    stage: c.stage,
    origin: c.origin,
    invoice: {
      id: invoice.id,
      number: invoice.number,
      kind: invoice.kind,
      amount: invoice.amount,
      dueDate: c.dueDate,
      status: invoice.status,
    },
    buyer: { id: buyer.id, name: buyer.name, type: c.debtorType },
    level: c.level,
    levelName: levelOf(c.policy, c.level)?.name ?? null,
    levelCount: c.policy.levels.length,
    daysOverdue: Math.max(0, daysBetween(c.dueDate as BusinessDate, asOf)),
    openAmount: amounts.openAmount,
    interest: amounts.interest.total,
    fees: amounts.feesTotal,
    flatFee: amounts.flatFee,
    totalClaim: amounts.total,
    nextAction,
    paused: c.paused,
    pauseReason: c.pauseReason,
    buyerPaused: c.buyerPaused,
    disputed: c.disputed,
    paymentProcessing: paymentInFlight(c, invoice),
    unappliedTransfer: c.buyerUnappliedTransfer,
    returnReasonCode: c.returnReasonCode,
    returnFailureCode: c.returnFailureCode,
    mayRedebit: c.mayRedebit,
    escalation: c.escalation,
    closedReason: c.closedReason,
    createdAt: c.createdAt.toISOString(),
    amounts,
  };
}

async function sentLettersOf(db: Db, caseIds: string[]): Promise<Map<string, SentLetter[]>> {
  const map = new Map<string, SentLetter[]>();
  if (caseIds.length === 0) return map;
  const rows = await db
    .select({ caseId: dunningLetters.caseId, level: dunningLetters.level, sentOn: dunningLetters.letterDate })
    .from(dunningLetters)
    .where(inArray(dunningLetters.caseId, caseIds));
  for (const r of rows) {
    const list = map.get(r.caseId) ?? [];
    list.push({ level: r.level, sentOn: r.sentOn as BusinessDate });
    map.set(r.caseId, list);
  }
  return map;
}

/** Filters of the case list. */
export interface CaseListQuery {
  limit: number;
  cursor?: string | undefined;
  status?: CaseStatus | undefined;
  level?: number | undefined;
}

/** The caller's cases, newest first. */
export async function listCases(deps: ServiceDeps, scope: Scope, query: CaseListQuery) {
  const conditions: (SQL | undefined)[] = [
    tenantFilter(scope, dunningCases.dealerId),
    query.status ? eq(dunningCases.status, query.status) : undefined,
    query.level !== undefined ? eq(dunningCases.level, query.level) : undefined,
    afterCursor(dunningCases.createdAt, dunningCases.id, query.cursor),
  ];
  const rows = await deps.db
    .select({ c: dunningCases, invoice: invoices, buyer: { id: buyers.id, name: buyers.name } })
    .from(dunningCases)
    .innerJoin(invoices, eq(invoices.id, dunningCases.invoiceId))
    .innerJoin(buyers, eq(buyers.id, dunningCases.buyerId))
    .where(and(...conditions))
    .orderBy(...newestFirst(dunningCases.createdAt, dunningCases.id))
    .limit(query.limit + 1);
  const letters = await sentLettersOf(
    deps.db,
    rows.map((r) => r.c.id),
  );
  const on = today(deps);
  const table = await currentBaseRateTable(deps.db);
  const page = toPage(
    rows.map((r) => ({ ...r, createdAt: r.c.createdAt, id: r.c.id })),
    query.limit,
    (r) => {
      const { amounts: _amounts, ...summary } = summarise(
        r.c,
        r.invoice,
        r.buyer,
        letters.get(r.c.id) ?? [],
        on,
        table,
      );
      return summary;
    },
  );
  return page;
}

/** One case of the caller (another dealer's is "not found"). */
export async function getCaseRow(db: Db, scope: Scope, id: string): Promise<CaseRow> {
  const [row] = await db
    .select()
    .from(dunningCases)
    .where(and(eq(dunningCases.id, id), tenantFilter(scope, dunningCases.dealerId)));
  if (!row) throw new NotFoundError('Dunning case', id);
  return row;
}

/** The URL path of a letter's PDF. */
export function letterPdfPath(caseId: string, letterId: string): string {
  return `/api/payments/dunning/${caseId}/letters/${letterId}.pdf`;
}

/** A letter as the API shows it. */
export function toLetterView(l: LetterRow) {
  return {
    id: l.id,
    caseId: l.caseId,
    dealerId: l.dealerId,
    level: l.level,
    levelName: l.levelName,
    letterDate: l.letterDate,
    deadline: l.deadline,
    recipientEmail: l.recipientEmail,
    subject: l.subject,
    text: l.bodyText,
    items: l.items,
    openAmount: l.openAmount,
    interest: l.interest,
    fees: l.fees,
    flatFee: l.flatFee,
    totalDue: l.totalDue,
    paymentUrl: l.paymentUrl,
    paymentUrlKind: l.paymentUrlKind,
    creditorPlaceholder: l.creditorPlaceholder,
    status: l.status,
    deliveredVia: l.deliveredVia,
    sentAt: l.sentAt?.toISOString() ?? null,
    pdfUrl: letterPdfPath(l.caseId, l.id),
  };
}

function toAuditView(a: AuditRow) {
  return {
    at: a.createdAt.toISOString(),
    action: a.action,
    actor: a.actor,
    reason: a.reason,
    details: a.details,
  };
}

/** One case with its itemised claim, letters and audit trail. */
export async function getCaseDetail(deps: ServiceDeps, scope: Scope, id: string) {
  const c = await getCaseRow(deps.db, scope, id);
  const [invoice] = await deps.db.select().from(invoices).where(eq(invoices.id, c.invoiceId));
  const [buyer] = await deps.db.select().from(buyers).where(eq(buyers.id, c.buyerId));
  if (!invoice || !buyer) throw new NotFoundError('Dunning case', id);
  const letters = await deps.db
    .select()
    .from(dunningLetters)
    .where(eq(dunningLetters.caseId, c.id))
    .orderBy(asc(dunningLetters.level));
  const trail = await deps.db
    .select()
    .from(dunningAudit)
    .where(eq(dunningAudit.caseId, c.id))
    .orderBy(asc(dunningAudit.seq));
  const sent = letters.map((l) => ({ level: l.level, sentOn: l.letterDate as BusinessDate }));
  const table = await currentBaseRateTable(deps.db);
  const { amounts, ...summary } = summarise(c, invoice, buyer, sent, today(deps), table);
  return {
    ...summary,
    claim: {
      openAmount: amounts.openAmount,
      interest: {
        total: amounts.interest.total,
        periods: amounts.interest.periods,
        flags: amounts.interest.flags,
      },
      fees: amounts.fees,
      flatFee: amounts.flatFee,
      feeCredit: amounts.feeCredit,
      total: amounts.total,
    },
    policy: c.policy,
    letters: letters.map(toLetterView),
    audit: trail.map(toAuditView),
  };
}

/** One letter of a case of the caller, with the number of the invoice it dunned (for its file name). */
export async function getLetterRow(
  db: Db,
  scope: Scope,
  caseId: string,
  letterId: string,
): Promise<{ letter: LetterRow; invoiceNumber: string }> {
  const c = await getCaseRow(db, scope, caseId);
  const [found] = await db
    .select({ letter: dunningLetters, number: invoices.number })
    .from(dunningLetters)
    .innerJoin(invoices, eq(invoices.id, c.invoiceId))
    .where(and(eq(dunningLetters.id, letterId), eq(dunningLetters.caseId, c.id)));
  if (!found) throw new NotFoundError('Letter', letterId);
  return { letter: found.letter, invoiceNumber: found.number ?? c.invoiceId };
}

/** Every letter (admin): the letter outbox, newest first. */
export async function listLetters(
  deps: ServiceDeps,
  query: { limit: number; cursor?: string | undefined; status?: LetterRow['status'] | undefined },
) {
  const rows = await deps.db
    .select()
    .from(dunningLetters)
    .where(
      and(
        query.status ? eq(dunningLetters.status, query.status) : undefined,
        afterCursor(dunningLetters.createdAt, dunningLetters.id, query.cursor),
      ),
    )
    .orderBy(...newestFirst(dunningLetters.createdAt, dunningLetters.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toLetterView);
}

// ---------------------------------------------------------------------------------------------- Mahnstopp

async function lockCase(tx: Db, scope: Scope, id: string): Promise<CaseRow> {
  const [row] = await tx
    .select()
    .from(dunningCases)
    .where(and(eq(dunningCases.id, id), tenantFilter(scope, dunningCases.dealerId)))
    .for('update');
  if (!row) throw new NotFoundError('Dunning case', id);
  return row;
}

/** Mahnstopp for one case. */
export async function pauseCase(deps: ServiceDeps, scope: Scope, id: string, reason: string) {
  const now = new Date(deps.clock.now());
  const row = await deps.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const c = await lockCase(tx, scope, id);
    if (c.stage === 'closed' || c.stage === 'escalated') {
      throw new ConflictError(
        `The case is ${c.stage}; there are no letters to stop.`,
        'dunning_case_not_active',
      );
    }
    if (c.paused) throw new ConflictError('The case is already paused.', 'dunning_case_already_paused');
    const updated = await updateCase(tx, c, { paused: true, pauseReason: reason }, now);
    await audit(
      tx,
      {
        caseId: c.id,
        dealerId: c.dealerId,
        buyerId: c.buyerId,
        action: 'paused',
        actor: actorOf(scope),
        reason,
      },
      now,
    );
    return updated;
  });
  await deps.cache.invalidateTags(caseTags(row));
  return getCaseDetail(deps, scope, id);
}

/** Lifts the Mahnstopp of one case; the ladder goes on where it stood. */
export async function resumeCase(deps: ServiceDeps, scope: Scope, id: string, reason: string) {
  const now = new Date(deps.clock.now());
  const row = await deps.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const c = await lockCase(tx, scope, id);
    if (!c.paused) throw new ConflictError('The case is not paused.', 'dunning_case_not_paused');
    const updated = await updateCase(tx, c, { paused: false, pauseReason: null }, now);
    await audit(
      tx,
      {
        caseId: c.id,
        dealerId: c.dealerId,
        buyerId: c.buyerId,
        action: 'resumed',
        actor: actorOf(scope),
        reason,
      },
      now,
    );
    return updated;
  });
  await deps.cache.invalidateTags(caseTags(row));
  return getCaseDetail(deps, scope, id);
}

/** Mahnstopp for a buyer: every case of theirs, now and later, stops until it is lifted. */
export async function setBuyerPause(
  deps: ServiceDeps,
  scope: Scope,
  buyerId: string,
  paused: boolean,
  reason: string,
) {
  const buyer = await getBuyerRow(deps, scope, buyerId);
  const now = new Date(deps.clock.now());
  const actor = actorOf(scope);
  const affected = await deps.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    if (paused) {
      const inserted = await tx
        .insert(dunningBuyerPauses)
        .values({ buyerId: buyer.id, dealerId: buyer.dealerId, reason, pausedBy: actor, pausedAt: now })
        .onConflictDoNothing({ target: dunningBuyerPauses.buyerId })
        .returning({ buyerId: dunningBuyerPauses.buyerId });
      if (inserted.length === 0)
        throw new ConflictError('Dunning is already paused for this buyer.', 'dunning_buyer_already_paused');
    } else {
      const removed = await tx
        .delete(dunningBuyerPauses)
        .where(eq(dunningBuyerPauses.buyerId, buyer.id))
        .returning({ buyerId: dunningBuyerPauses.buyerId });
      if (removed.length === 0)
        throw new ConflictError('Dunning is not paused for this buyer.', 'dunning_buyer_not_paused');
    }
    const action = paused ? 'buyer_paused' : 'buyer_resumed';
    await audit(
      tx,
      { caseId: null, buyerId: buyer.id, dealerId: buyer.dealerId, action, actor, reason },
      now,
    );
    const cases = await tx
      .select()
      .from(dunningCases)
      .where(eq(dunningCases.buyerId, buyer.id))
      .for('update');
    const changed: CaseRow[] = [];
    for (const c of cases) {
      if (c.stage === 'closed' || c.buyerPaused === paused) continue;
      changed.push(await updateCase(tx, c, { buyerPaused: paused }, now));
      await audit(tx, { caseId: c.id, buyerId: buyer.id, dealerId: c.dealerId, action, actor, reason }, now);
    }
    return changed;
  });
  await deps.cache.invalidateTags([tags.object(BUYERS, buyer.id), ...affected.flatMap(caseTags)]);
  return { customerId: buyer.id, dunningPaused: paused, reason, casesAffected: affected.length };
}

/** Whether a buyer has a Mahnstopp. */
export async function buyerPaused(db: Db, buyerId: string): Promise<boolean> {
  const [row] = await db.select().from(dunningBuyerPauses).where(eq(dunningBuyerPauses.buyerId, buyerId));
  return row !== undefined;
}

// --------------------------------------------------------------------------------------------- escalation

/** Input of escalateCase. */
export interface EscalateInput {
  action: EscalationAction;
  reason: string;
}

/**
 * A human's decision after the last letter: collection (Inkasso), court (Mahnbescheid), write-off
 * (the Stripe invoice is marked uncollectible), or — for a financing instalment — calling the whole
 * loan, allowed only when § 498 BGB holds (409 with the missing grounds otherwise).
 */
export async function escalateCase(deps: ServiceDeps, scope: Scope, id: string, input: EscalateInput) {
  const c = await getCaseRow(deps.db, scope, id);
  // A called loan is finished by calling again — also once the payoff has voided this instalment and closed
  // the case, in case its final invoice did not go out (Stripe unreachable, a SEPA debit in flight): the
  // decision stands, the payoff resumes, and the plan's payoff key keeps it to one invoice.
  if (
    input.action === 'call_loan' &&
    c.escalation === 'call_loan' &&
    (c.stage === 'escalated' || (c.stage === 'closed' && c.closedReason === 'voided'))
  ) {
    await billCalledLoan(deps, scope, c.invoiceId);
    return getCaseDetail(deps, scope, id);
  }
  if (c.stage !== 'awaiting_decision') {
    throw new ConflictError(
      c.stage === 'dunning'
        ? `The ladder is not finished (letter ${c.level} of ${c.policy.levels.length} sent); escalation comes after the last letter and its deadline.`
        : `The case is ${c.stage}.`,
      'dunning_case_not_awaiting_decision',
    );
  }
  if (c.paused || c.buyerPaused || c.disputed) {
    throw new ConflictError('The case is paused or disputed; lift the stop first.', 'dunning_case_paused');
  }
  if (unappliedTransferHolds(c, today(deps))) {
    throw new ConflictError(
      'The buyer sent a bank transfer Stripe could not match to an invoice; match it or send it back first.',
      'dunning_case_held',
    );
  }
  const [invoice] = await deps.db.select().from(invoices).where(eq(invoices.id, c.invoiceId));
  if (!invoice) throw new NotFoundError('Invoice', c.invoiceId);
  const on = today(deps);
  let details: Record<string, unknown> = {};

  if (input.action === 'call_loan') {
    details = await checkCallLoan(deps, invoice, on);
  } else if (!c.policy.escalation.options.includes(input.action)) {
    throw new ValidationError('The policy does not offer this escalation.', [
      { field: 'body.action', message: `one of ${c.policy.escalation.options.join(', ')}` },
    ]);
  }
  if (input.action === 'write_off') {
    if (!invoice.stripeInvoiceId) throw new ConflictError('The invoice has no Stripe invoice to write off.');
    await deps.stripe.invoices
      .markUncollectible(
        invoice.stripeInvoiceId,
        {},
        {
          idempotencyKey: stripeIdempotencyKey('dunning-case', c.id, 'write-off'),
        },
      )
      .catch(wrapStripeError);
  }

  const now = new Date(deps.clock.now());
  const row = await deps.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const locked = await lockCase(tx, scope, id);
    if (locked.stage !== 'awaiting_decision') {
      throw new ConflictError(`The case is ${locked.stage}.`, 'dunning_case_not_awaiting_decision');
    }
    const patch: Partial<CaseRow> =
      input.action === 'write_off'
        ? {
            stage: 'closed',
            escalation: 'write_off',
            escalatedAt: now,
            closedReason: 'written_off',
            closedAt: now,
          }
        : { stage: 'escalated', escalation: input.action, escalatedAt: now };
    const updated = await updateCase(tx, locked, patch, now);
    await audit(
      tx,
      {
        caseId: c.id,
        buyerId: c.buyerId,
        dealerId: c.dealerId,
        action: `escalated_${input.action}`,
        actor: actorOf(scope),
        reason: input.reason,
        details,
      },
      now,
    );
    return updated;
  });
  await deps.cache.invalidateTags(caseTags(row));
  if (input.action === 'call_loan') await billCalledLoan(deps, scope, c.invoiceId);
  return getCaseDetail(deps, scope, id);
}

/**
 * The whole loan falls due (Gesamtfälligstellung): the plan ends as by payoff — Stripe stops collecting,
 * the open instalments are voided (their cases close) and one invoice asks for the remaining principal
 * plus the interest of instalments already due. Resumable; the plan's own payoff key keeps it to one invoice.
 */
async function billCalledLoan(deps: ServiceDeps, scope: Scope, invoiceId: string): Promise<void> {
  const [invoice] = await deps.db.select().from(invoices).where(eq(invoices.id, invoiceId));
  const planId = invoice?.financingPlanId;
  if (!planId) throw new NotFoundError('Financing plan of invoice', invoiceId);
  try {
    await payOffPlan(deps, scope, planId, 'loan_called');
  } catch (err) {
    if (err instanceof AppError && err.code === 'payment_processing') {
      throw new ConflictError(
        'The loan call is recorded, but a SEPA payment of the plan is still being processed; call again once it has settled to issue the final invoice.',
        'payment_processing',
      );
    }
    throw err;
  }
}

/**
 * § 498 BGB, judged on the plan itself (terms and every instalment, through the financing module's
 * `terminationCheckFor`, so the rule has one implementation). A warning is a sent letter that carried
 * it (recorded as `loanCallWarning` when it was queued) for any instalment of the same plan: the loan
 * is one contract. With several, calling is allowed if any of them allows it; otherwise the newest
 * one's reasons are given.
 */
async function checkCallLoan(
  deps: ServiceDeps,
  invoice: InvoiceRow,
  on: BusinessDate,
): Promise<Record<string, unknown>> {
  const planId = invoice.financingPlanId;
  if (!planId) {
    throw new ValidationError('Only a financing instalment can call the whole loan.', [
      { field: 'body.action', message: 'call_loan needs an invoice of a financing plan' },
    ]);
  }
  // Only a loan that is still owed can fall due; an ended plan (completed, canceled, paid off) has none left.
  const [plan] = await deps.db.select().from(financingPlans).where(eq(financingPlans.id, planId));
  if (!plan || !(owesRemainingLoan(plan) || plan.status === 'terminated_early')) {
    throw new ConflictError(
      `The financing plan has ended (${plan?.status ?? 'missing'}); there is no loan left to call.`,
      'plan_ended',
    );
  }
  const warnings = await loanCallWarningsOf(deps.db, planId);
  let check: TerminationCheck | undefined;
  let warnedOn: BusinessDate | undefined;
  for (const warningSentOn of warnings.length > 0 ? warnings : [undefined]) {
    const candidate = await terminationCheckFor(deps, planId, on, warningSentOn ? { warningSentOn } : {});
    if (!check || candidate.allowed) {
      check = candidate;
      warnedOn = warningSentOn;
    }
    if (candidate.allowed) break;
  }
  if (!check?.allowed) {
    const reasons = check?.reasons ?? [];
    throw new AppError(
      'loan_call_not_allowed',
      409,
      `§ 498 BGB does not allow calling the whole loan yet: ${reasons.join('; ')}.`,
      reasons.map((r) => ({ field: 'body.action', message: r })),
    );
  }
  return {
    financingPlanId: planId,
    consecutiveMissed: check.consecutiveMissed,
    arrears: check.arrears,
    threshold: check.threshold,
    thresholdPercent: check.thresholdPercent,
    warningSentOn: warnedOn ?? null,
    warningDeadline: check.warningDeadline ?? null,
  };
}

/**
 * Letter dates of a plan's sent § 498 warnings, newest first. Withdrawn or still queued letters never
 * reached the buyer and do not count.
 */
async function loanCallWarningsOf(db: Db, planId: string): Promise<BusinessDate[]> {
  const rows = await db
    .select({
      letterId: dunningLetters.id,
      letterDate: dunningLetters.letterDate,
      details: dunningAudit.details,
    })
    .from(dunningLetters)
    .innerJoin(dunningCases, eq(dunningCases.id, dunningLetters.caseId))
    .innerJoin(invoices, eq(invoices.id, dunningCases.invoiceId))
    .innerJoin(
      dunningAudit,
      and(eq(dunningAudit.caseId, dunningLetters.caseId), eq(dunningAudit.action, 'letter_queued')),
    )
    .where(and(eq(invoices.financingPlanId, planId), eq(dunningLetters.status, 'sent')))
    .orderBy(desc(dunningLetters.letterDate), desc(dunningLetters.createdAt));
  return rows
    .filter((r) => r.details?.letterId === r.letterId && r.details.loanCallWarning)
    .map((r) => r.letterDate as BusinessDate);
}

// ---------------------------------------------------------------------------- facts brought by events

// The SEPA reason table and Stripe's codes behind it live in sepa-returns.ts; re-exported for callers.
export { SEPA_RETURN_CODES, sepaReturnReason as isoReturnReason } from './sepa-returns.ts';

/**
 * A failed or returned payment of an invoice: opens its case at once (or reopens a closed one),
 * records the return reason and whether a new debit is allowed. Runs in the caller's transaction.
 */
export async function recordPaymentFailure(
  tx: Db,
  deps: ServiceDeps,
  input: {
    invoice: InvoiceRow;
    /** The SEPA reason (sepa-returns.ts), null when Stripe's code has none. */
    reasonCode: string | null;
    /** Stripe's failure code as reported (e.g. `insufficient_funds`), kept beside the SEPA reason. */
    failureCode?: string | null;
    returned: boolean;
    failedOn: BusinessDate;
  },
): Promise<CaseRow | undefined> {
  const { invoice } = input;
  if (invoice.status === 'paid' || invoice.status === 'void') return undefined;
  const now = new Date(deps.clock.now());
  const origin = input.returned ? 'returned_debit' : 'payment_failed';
  const [existing] = await tx
    .select()
    .from(dunningCases)
    .where(eq(dunningCases.invoiceId, invoice.id))
    .for('update');
  const reason = input.reasonCode;
  const failureCode = input.failureCode ?? null;
  const mayRedebit = mayRedebitAfter(reason);
  let row: CaseRow;
  if (existing) {
    const reopened = existing.stage === 'closed' && existing.closedReason === 'paid';
    row = await updateCase(
      tx,
      existing,
      {
        ...(reason ? { returnReasonCode: reason } : {}),
        ...(failureCode ? { returnFailureCode: failureCode } : {}),
        mayRedebit: existing.mayRedebit && mayRedebit,
        ...(reopened ? { stage: 'dunning' as const, closedReason: null, closedAt: null } : {}),
      },
      now,
    );
  } else {
    row = await openCase(tx, deps, invoice, {
      origin,
      dueDate: (invoice.dueDate as BusinessDate | null) ?? input.failedOn,
      today: input.failedOn,
      returnReasonCode: reason,
      returnFailureCode: failureCode,
      mayRedebit,
    });
  }
  await audit(
    tx,
    {
      caseId: row.id,
      buyerId: row.buyerId,
      dealerId: row.dealerId,
      action: input.returned ? 'debit_returned' : 'payment_failed',
      actor: 'system',
      reason: reason
        ? `SEPA-Rückgabegrund ${reason}${failureCode ? ` (Stripe: ${failureCode})` : ''}`
        : failureCode
          ? `Stripe: ${failureCode}`
          : null,
      details: { reasonCode: reason, stripeFailureCode: failureCode, mayRedebit: row.mayRedebit },
    },
    now,
  );
  return row;
}

/** Opens a case for an invoice (in the caller's transaction); an existing one is returned as it is. */
export async function openCase(
  tx: Db,
  deps: ServiceDeps,
  invoice: InvoiceRow,
  input: {
    origin: CaseRow['origin'];
    dueDate: BusinessDate;
    today: BusinessDate;
    returnReasonCode?: string | null;
    returnFailureCode?: string | null;
    mayRedebit?: boolean;
    /** A reclaimed SEPA debit: the amount the case claims and the dispute that took it back. */
    reclaim?: { amount: number; disputeId: string };
  },
): Promise<CaseRow> {
  // Shared lock: a cash-balance event changing the buyer's unmatched money waits for this case (and then
  // updates it), or this waits for the event and copies its result.
  const [buyer] = await tx.select().from(buyers).where(eq(buyers.id, invoice.buyerId)).for('share');
  if (!buyer) throw new Error(`buyer ${invoice.buyerId} of invoice ${invoice.id} not found`);
  const dealerPolicy = await effectivePolicy(tx, invoice.dealerId, buyer.type);
  const policy = invoice.financingPlanId ? financingPolicy(dealerPolicy) : dealerPolicy;
  const now = new Date(deps.clock.now());
  const stop = await buyerPaused(tx, buyer.id);
  const base = {
    stage: 'dunning' as const,
    paused: false,
    buyerPaused: stop,
    disputed: false,
  };
  const unapplied = buyer.unappliedTransferAmount;
  const [inserted] = await tx
    .insert(dunningCases)
    .values({
      id: newId('dun'),
      dealerId: invoice.dealerId,
      invoiceId: invoice.id,
      buyerId: buyer.id,
      debtorType: buyer.type,
      policy,
      origin: input.origin,
      ...base,
      buyerUnappliedTransfer: unapplied,
      buyerUnappliedTransferSince: buyer.unappliedTransferSince,
      status: statusOf(base),
      level: 0,
      dueDate: input.dueDate,
      returnReasonCode: input.returnReasonCode ?? null,
      returnFailureCode: input.returnFailureCode ?? null,
      mayRedebit: input.mayRedebit ?? true,
      reclaimedAmount: input.reclaim?.amount ?? null,
      reclaimDisputeId: input.reclaim?.disputeId ?? null,
      openedOn: input.today,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: dunningCases.invoiceId })
    .returning();
  if (!inserted) {
    const [existing] = await tx.select().from(dunningCases).where(eq(dunningCases.invoiceId, invoice.id));
    if (!existing) throw new Error('dunning case vanished');
    return existing;
  }
  await audit(
    tx,
    {
      caseId: inserted.id,
      buyerId: buyer.id,
      dealerId: inserted.dealerId,
      action: 'opened',
      actor: 'system',
      reason: input.reclaim
        ? 'Lastschrift vom Zahler zurückgefordert'
        : input.origin === 'overdue'
          ? `Rechnung seit ${daysBetween(input.dueDate, input.today)} Tagen überfällig`
          : 'Zahlung fehlgeschlagen',
      details: {
        origin: input.origin,
        dueDate: input.dueDate,
        openAmount: input.reclaim?.amount ?? invoice.amountRemaining,
        buyerPaused: stop,
      },
    },
    now,
  );
  return inserted;
}

/**
 * A settled SEPA debit the buyer reclaimed (Stripe: `charge.dispute.created` on a `sepa_debit` charge). The
 * invoice stays paid at Stripe, so the claim re-opens here: the case of the invoice opens (or a closed one
 * re-opens) with the reclaimed amount as its open amount, due on the day of the reclaim, with the SEPA
 * reason (`reclaimReason`: MD06 within 8 weeks) and no new debit of that mandate. The ladder then runs on
 * it; its letters' link pays the reclaimed amount (scheduler.ts). Once per dispute; caller's transaction.
 */
export async function recordReclaim(
  tx: Db,
  deps: ServiceDeps,
  input: {
    invoice: InvoiceRow;
    amount: number;
    disputeId: string;
    reasonCode: string;
    /** Stripe's reason of the dispute, kept as reported. */
    stripeReason: string | null;
    reclaimedOn: BusinessDate;
    daysSinceDebit: number;
  },
): Promise<CaseRow | undefined> {
  const { invoice } = input;
  if (input.amount <= 0 || invoice.status === 'void') return undefined;
  const now = new Date(deps.clock.now());
  const [existing] = await tx
    .select()
    .from(dunningCases)
    .where(eq(dunningCases.invoiceId, invoice.id))
    .for('update');
  if (existing?.reclaimDisputeId === input.disputeId) return undefined;
  const mayRedebit = mayRedebitAfter(input.reasonCode);
  const reclaim = { amount: input.amount, disputeId: input.disputeId };
  let row: CaseRow;
  if (existing) {
    // A case of this invoice ran before (e.g. an earlier returned debit, then paid): it re-opens on the
    // reclaimed amount and its ladder goes on from the level it reached.
    const active = existing.stage !== 'closed';
    row = await updateCase(
      tx,
      existing,
      {
        origin: 'returned_debit',
        reclaimedAmount: (active ? (existing.reclaimedAmount ?? 0) : 0) + input.amount,
        reclaimDisputeId: input.disputeId,
        returnReasonCode: input.reasonCode,
        returnFailureCode: null,
        mayRedebit: existing.mayRedebit && mayRedebit,
        ...(active
          ? {}
          : {
              stage: 'dunning' as const,
              dueDate: input.reclaimedOn,
              closedReason: null,
              closedAt: null,
              disputed: false,
            }),
      },
      now,
    );
  } else {
    row = await openCase(tx, deps, invoice, {
      origin: 'returned_debit',
      dueDate: input.reclaimedOn,
      today: input.reclaimedOn,
      returnReasonCode: input.reasonCode,
      returnFailureCode: null,
      mayRedebit,
      reclaim,
    });
  }
  await audit(
    tx,
    {
      caseId: row.id,
      buyerId: row.buyerId,
      dealerId: row.dealerId,
      action: 'debit_reclaimed',
      actor: 'system',
      reason: `Lastschrift zurückgefordert, SEPA-Rückgabegrund ${input.reasonCode} (${input.daysSinceDebit} Tage nach der Belastung)`,
      details: {
        disputeId: input.disputeId,
        amount: input.amount,
        reasonCode: input.reasonCode,
        stripeReason: input.stripeReason,
        daysSinceDebit: input.daysSinceDebit,
        mayRedebit: row.mayRedebit,
      },
    },
    now,
  );
  return row;
}

/** Closes the case of an invoice (paid, voided, uncollectible) in the caller's transaction. */
export async function closeCaseOfInvoice(
  tx: Db,
  deps: ServiceDeps,
  invoiceId: string,
  reason: string,
): Promise<CaseRow | undefined> {
  const [c] = await tx.select().from(dunningCases).where(eq(dunningCases.invoiceId, invoiceId)).for('update');
  if (!c || c.stage === 'closed') return undefined;
  // The invoice of a reclaimed debit is paid at Stripe all along: only paying the reclaimed amount closes it.
  if (c.reclaimedAmount !== null && reason === 'paid') return undefined;
  const now = new Date(deps.clock.now());
  const row = await updateCase(tx, c, { stage: 'closed', closedReason: reason, closedAt: now }, now);
  await audit(
    tx,
    { caseId: c.id, buyerId: c.buyerId, dealerId: c.dealerId, action: 'closed', actor: 'system', reason },
    now,
  );
  return row;
}

/**
 * The reclaimed amount of a case was paid (its letter's Payment Link): the case closes as paid. At least the
 * reclaimed amount must have been paid; once per case (a repeated event finds it closed). Caller's transaction.
 */
export async function closeReclaimPaid(
  tx: Db,
  deps: ServiceDeps,
  caseId: string,
  payment: { amount: number; checkoutSessionId: string; paymentIntentId: string | null },
): Promise<CaseRow | undefined> {
  const [c] = await tx.select().from(dunningCases).where(eq(dunningCases.id, caseId)).for('update');
  if (!c || c.stage === 'closed' || c.reclaimedAmount === null) return undefined;
  const now = new Date(deps.clock.now());
  if (payment.amount < c.reclaimedAmount) {
    deps.log.warn({ caseId, ...payment }, 'dunning: a link paid less than the reclaimed amount');
    return undefined;
  }
  const row = await updateCase(tx, c, { stage: 'closed', closedReason: 'paid', closedAt: now }, now);
  await audit(
    tx,
    {
      caseId: c.id,
      buyerId: c.buyerId,
      dealerId: c.dealerId,
      action: 'closed',
      actor: 'system',
      reason: 'paid',
      details: { reclaimedAmount: c.reclaimedAmount, ...payment },
    },
    now,
  );
  return row;
}

/** Marks the case of an invoice disputed (or not) in the caller's transaction. */
export async function setDisputed(
  tx: Db,
  deps: ServiceDeps,
  invoiceId: string,
  disputed: boolean,
  detail: Record<string, unknown>,
): Promise<CaseRow | undefined> {
  const [c] = await tx.select().from(dunningCases).where(eq(dunningCases.invoiceId, invoiceId)).for('update');
  if (!c || c.disputed === disputed) return undefined;
  const now = new Date(deps.clock.now());
  const row = await updateCase(tx, c, { disputed }, now);
  await audit(
    tx,
    {
      caseId: c.id,
      buyerId: c.buyerId,
      dealerId: c.dealerId,
      action: disputed ? 'disputed' : 'dispute_closed',
      actor: 'system',
      reason: disputed
        ? 'Zahlung angefochten (Dispute): kein Mahnlauf bis zur Klärung'
        : 'Dispute abgeschlossen',
      details: detail,
    },
    now,
  );
  return row;
}

/** Postal address lines of a buyer, for the letter. */
export function addressLines(address: PostalAddress): string {
  const cityLine = [address.postalCode, address.city].filter(Boolean).join(' ');
  return [address.line1, address.line2, cityLine, address.country !== 'DE' ? address.country : undefined]
    .filter((l): l is string => typeof l === 'string' && l.length > 0)
    .join('\n');
}
