import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Scope } from '../auth/keys.ts';
import { ledgerEntries } from '../ledger/schema.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { afterCursor, newestFirst, toPage } from '../platform/pagination.ts';
import { wrapStripeError } from '../stripe/errors.ts';

/** The admin's view: Stripe's balance of the MORELO account. */
export interface StripeBalanceView {
  scope: 'account';
  available: { amount: number; currency: string }[];
  pending: { amount: number; currency: string }[];
}

/** A dealer's view: its own money from the ledger (Stripe's balance is the whole account's, not a dealer's). */
export interface DealerTotalsView {
  scope: 'dealer';
  dealerId: string;
  settled: number;
  processing: number;
  reversed: number;
  net: number;
}

/** GET /balance: Stripe's balance for the admin; the dealer's own ledger totals for a dealer key. */
export async function balanceFor(
  deps: ServiceDeps,
  scope: Scope,
): Promise<StripeBalanceView | DealerTotalsView> {
  if (scope.kind === 'admin') {
    const balance = await deps.stripe.balance.retrieve().catch(wrapStripeError);
    const pick = (list: Stripe.Balance.Available[] | Stripe.Balance.Pending[]) =>
      list.map((b) => ({ amount: b.amount, currency: b.currency }));
    return { scope: 'account', available: pick(balance.available), pending: pick(balance.pending) };
  }
  const entries = await deps.db
    .select({ amount: ledgerEntries.amount, settlement: ledgerEntries.settlement })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.dealerId, scope.dealerId));
  const settled = entries
    .filter((e) => e.amount > 0 && e.settlement === 'settled')
    .reduce((s, e) => s + e.amount, 0);
  const processing = entries
    .filter((e) => e.amount > 0 && e.settlement === 'processing')
    .reduce((s, e) => s + e.amount, 0);
  const reversed = entries.filter((e) => e.amount < 0).reduce((s, e) => s + e.amount, 0);
  return {
    scope: 'dealer',
    dealerId: scope.dealerId,
    settled,
    processing,
    reversed,
    net: settled + reversed,
  };
}

/** One line of GET /transactions. */
export interface TransactionView {
  id: string;
  type: string;
  amount: number;
  fee: number | null;
  net: number | null;
  status: string;
  currency: string;
  description: string | null;
  source: string | null;
  vehicleId: string | null;
  availableOn: string | null;
  created: string;
}

/**
 * GET /transactions: Stripe's balance transactions for the admin (cursor = Stripe's id, newest first); a dealer's
 * own payments from the ledger.
 */
export async function transactionsFor(
  deps: ServiceDeps,
  scope: Scope,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ data: TransactionView[]; hasMore: boolean; nextCursor: string | null }> {
  if (scope.kind === 'admin') {
    const list = await deps.stripe.balanceTransactions
      .list({ limit: page.limit, ...(page.cursor ? { starting_after: page.cursor } : {}) })
      .catch(wrapStripeError);
    const data = list.data.map((t) => ({
      id: t.id,
      type: t.type,
      amount: t.amount,
      fee: t.fee,
      net: t.net,
      status: t.status,
      currency: t.currency,
      description: t.description,
      source: typeof t.source === 'string' ? t.source : (t.source?.id ?? null),
      vehicleId: null,
      availableOn: new Date(t.available_on * 1000).toISOString(),
      created: new Date(t.created * 1000).toISOString(),
    }));
    return { data, hasMore: list.has_more, nextCursor: list.has_more ? (data.at(-1)?.id ?? null) : null };
  }
  const rows = await deps.db
    .select()
    .from(ledgerEntries)
    .where(
      and(
        eq(ledgerEntries.dealerId, scope.dealerId),
        afterCursor(ledgerEntries.createdAt, ledgerEntries.id, page.cursor),
      ),
    )
    .orderBy(...newestFirst(ledgerEntries.createdAt, ledgerEntries.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (e) => ({
    id: e.id,
    type: e.kind,
    amount: e.amount,
    fee: null,
    net: null,
    status: e.settlement,
    currency: e.currency,
    description: e.effect,
    source: e.sourceId,
    vehicleId: e.vehicleId,
    availableOn: null,
    created: e.occurredAt.toISOString(),
  }));
}
