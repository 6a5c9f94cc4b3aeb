import { and, asc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { Scope } from '../auth/keys.ts';
import { buyers } from '../customers/schema.ts';
import { financingPlans, hasEnded, owesRemainingLoan } from '../financing/schema.ts';
import { invoices } from '../invoices/schema.ts';
import { type BusinessDate, berlinDate, compareDates } from '../platform/dates.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { withTenant } from '../platform/tenancy.ts';
import { ledgerEntries } from './schema.ts';

/** A consumer may reclaim an authorised SEPA debit for 8 weeks. */
const SEPA_RECLAIM_MS = 8 * 7 * 24 * 3600 * 1000;

/** What a dealer asks before handing over a motorhome: agreed, paid, open, overdue, next due, history. */
export interface VehicleAccount {
  vehicleId: string;
  dealerId: string;
  /** Sum of all invoices that are not void: what the buyer has been asked to pay. */
  totalAgreed: number;
  paid: {
    /** Money that can no longer fail. */
    settled: number;
    /** SEPA money on its way: it may still be returned. */
    processing: number;
    /**
     * The part of `settled` paid by SEPA Direct Debit in the last 8 weeks: a consumer may still reclaim an
     * authorised debit without reason (§ 675x (4) BGB), so a dealer should know it before handing over.
     */
    reclaimable: number;
    /** Refunds, returned debits and disputes (negative or zero). */
    reversed: number;
    /** settled + reversed. */
    net: number;
  };
  /** Still to be paid on open invoices. */
  open: number;
  /**
   * Money the buyers with open invoices on this vehicle sent by bank transfer that Stripe matched to no
   * invoice yet (too little, or an unknown reference): received, not in `paid`, still in `open` until matched.
   */
  unappliedTransfer: number;
  /** The part of `open` whose due date has passed. */
  overdue: number;
  /** The next payment the buyer owes: an open invoice's due date or a financing plan's next instalment. */
  nextDue: { date: string; amount: number; invoiceId: string | null; planId: string | null } | null;
  /** Financing plans of this vehicle, with what their contract adds up to. */
  plans: {
    id: string;
    status: string;
    endReason: string | null;
    monthlyRate: number;
    durationMonths: number;
    contractTotal: number;
  }[];
  invoices: {
    id: string;
    kind: string;
    number: string | null;
    status: string;
    amount: number;
    amountRemaining: number;
    dueDate: string | null;
    paymentProcessing: boolean;
  }[];
  history: {
    kind: string;
    amount: number;
    settlement: string;
    effect: string;
    reasonCode: string | null;
    sourceId: string;
    occurredAt: string;
  }[];
}

/**
 * Builds the account of one vehicle deal from our invoices and the ledger. A dealer sees its own vehicle; the admin
 * must say which dealer (vehicle ids are the dealer platform's and only unique per dealer).
 */
export async function vehicleAccount(
  deps: ServiceDeps,
  scope: Scope,
  vehicleId: string,
  dealerIdParam: string | undefined,
): Promise<VehicleAccount> {
  const dealerId = scope.kind === 'dealer' ? scope.dealerId : dealerIdParam;
  if (!dealerId) {
    throw new ValidationError('The admin key must name the dealer.', [
      { field: 'query.dealerId', message: 'required' },
    ]);
  }
  // Row-level security backs up the dealer conditions below (the admin reads unrestricted).
  // One connection serves the transaction, so the reads run one after another.
  const [invoiceRows, entries, plans] = await withTenant(
    deps.db,
    scope,
    async (db) =>
      [
        await db
          .select()
          .from(invoices)
          .where(
            and(
              eq(invoices.dealerId, dealerId),
              eq(invoices.vehicleId, vehicleId),
              ne(invoices.status, 'creating'),
            ),
          )
          .orderBy(asc(invoices.createdAt)),
        await db
          .select()
          .from(ledgerEntries)
          .where(and(eq(ledgerEntries.dealerId, dealerId), eq(ledgerEntries.vehicleId, vehicleId)))
          .orderBy(asc(ledgerEntries.occurredAt)),
        await db
          .select()
          .from(financingPlans)
          .where(
            and(
              eq(financingPlans.dealerId, dealerId),
              eq(financingPlans.vehicleId, vehicleId),
              ne(financingPlans.status, 'creating'),
            ),
          )
          .orderBy(asc(financingPlans.createdAt)),
      ] as const,
  );
  if (invoiceRows.length === 0 && entries.length === 0 && plans.length === 0)
    throw new NotFoundError('Vehicle', vehicleId);

  // Unmatched transfers belong to the buyers who owe on this vehicle (ids from the dealer's own invoices).
  const owingBuyers = [...new Set(invoiceRows.filter((i) => i.status === 'open').map((i) => i.buyerId))];
  const buyerRows =
    owingBuyers.length === 0
      ? []
      : await deps.db
          .select({ unappliedTransferAmount: buyers.unappliedTransferAmount })
          .from(buyers)
          .where(and(inArray(buyers.id, owingBuyers), isNull(buyers.deletedAt)));
  const today = berlinDate(deps.clock.now());
  const live = invoiceRows.filter((i) => i.status !== 'void');
  // A running plan's agreed amount is its contract, and so is that of a plan Stripe stopped collecting after
  // failed payments (the loan is still owed); an ended one's is what it actually billed (its invoices).
  const runningPlans = new Set(plans.filter((p) => !hasEnded(p.status)).map((p) => p.id));
  const contractPlans = new Set(plans.filter((p) => owesRemainingLoan(p)).map((p) => p.id));
  const agreedInvoices = live.filter((i) => !i.financingPlanId || !contractPlans.has(i.financingPlanId));
  const planTotals = plans.map((p) => ({ plan: p, total: p.payments.reduce((sum, x) => sum + x.amount, 0) }));
  const open = live.filter((i) => i.status === 'open' || i.status === 'uncollectible');
  const settled = entries
    .filter((e) => e.amount > 0 && e.settlement === 'settled')
    .reduce((s, e) => s + e.amount, 0);
  const processingLedger = entries
    .filter((e) => e.amount > 0 && e.settlement === 'processing')
    .reduce((s, e) => s + e.amount, 0);
  // Invoices with a SEPA debit under way are still open at Stripe; their remainder is money on its way — unless
  // the ledger already holds that debit as processing.
  const processingInvoices = open
    .filter(
      (i) =>
        i.paymentProcessing && !entries.some((e) => e.invoiceId === i.id && e.settlement === 'processing'),
    )
    .reduce((s, i) => s + i.amountRemaining, 0);
  const reversed = entries.filter((e) => e.amount < 0).reduce((s, e) => s + e.amount, 0);
  const reclaimWindowStart = deps.clock.now() - SEPA_RECLAIM_MS;
  const reclaimable = entries
    .filter(
      (e) =>
        e.amount > 0 &&
        e.settlement === 'settled' &&
        e.paymentMethod === 'sepa_debit' &&
        e.occurredAt.getTime() > reclaimWindowStart,
    )
    .reduce((s, e) => s + e.amount, 0);
  const dueOpen = open
    .filter((i) => !i.paymentProcessing && i.dueDate)
    .sort((a, b) => compareDates(a.dueDate as BusinessDate, b.dueDate as BusinessDate));
  const billedDates = new Set(
    invoiceRows.filter((i) => i.financingPlanId).map((i) => `${i.financingPlanId}:${i.dueDate}`),
  );
  const candidates: { date: string; amount: number; invoiceId: string | null; planId: string | null }[] = [
    ...dueOpen
      .filter((i) => (i.dueDate as string) >= today)
      .map((i) => ({
        date: i.dueDate as string,
        amount: i.amountRemaining,
        invoiceId: i.id,
        planId: i.financingPlanId,
      })),
    ...plans
      .filter((p) => runningPlans.has(p.id))
      .flatMap((p) =>
        p.payments
          .filter((x) => x.dueDate >= today && !billedDates.has(`${p.id}:${x.dueDate}`))
          .slice(0, 1)
          .map((x) => ({ date: x.dueDate, amount: x.amount, invoiceId: null, planId: p.id })),
      ),
  ].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return {
    vehicleId,
    dealerId,
    totalAgreed:
      agreedInvoices.reduce((s, i) => s + i.amount, 0) +
      planTotals.filter((t) => contractPlans.has(t.plan.id)).reduce((s, t) => s + t.total, 0),
    paid: {
      settled,
      processing: processingLedger + processingInvoices,
      reclaimable,
      reversed,
      net: settled + reversed,
    },
    open: open.filter((i) => !i.paymentProcessing).reduce((s, i) => s + i.amountRemaining, 0),
    unappliedTransfer: buyerRows.reduce((s, b) => s + b.unappliedTransferAmount, 0),
    overdue: dueOpen.filter((i) => (i.dueDate as string) < today).reduce((s, i) => s + i.amountRemaining, 0),
    nextDue: candidates[0] ?? null,
    plans: planTotals.map(({ plan, total }) => ({
      id: plan.id,
      status: plan.status,
      endReason: plan.endReason,
      monthlyRate: plan.monthlyRate,
      durationMonths: plan.durationMonths,
      contractTotal: total,
    })),
    invoices: invoiceRows.map((i) => ({
      id: i.id,
      kind: i.kind,
      number: i.number,
      status: i.status,
      amount: i.amount,
      amountRemaining: i.amountRemaining,
      dueDate: i.dueDate,
      paymentProcessing: i.paymentProcessing,
    })),
    history: entries.map((e) => ({
      kind: e.kind,
      amount: e.amount,
      settlement: e.settlement,
      effect: e.effect,
      reasonCode: e.reasonCode,
      sourceId: e.sourceId,
      occurredAt: e.occurredAt.toISOString(),
    })),
  };
}
