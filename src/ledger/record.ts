import { and, eq, ne } from 'drizzle-orm';
import type { Db } from '../platform/db/index.ts';
import { newId } from '../platform/ids.ts';
import { type LedgerKind, ledgerEntries } from './schema.ts';

/** One ledger fact; `sourceId` + `effect` identify it, so recording it twice records it once. */
export interface LedgerFact {
  dealerId: string;
  vehicleId: string;
  buyerId: string | null;
  invoiceId: string | null;
  kind: LedgerKind;
  /** Signed cents: money in is positive, refunds and returns negative. */
  amount: number;
  settlement: 'settled' | 'processing' | 'failed';
  paymentMethod?: string | null;
  sourceId: string;
  effect: string;
  reasonCode?: string | null;
  occurredAt: Date;
}

/** Appends a fact unless one with the same source and effect exists; returns whether it was new. */
export async function recordLedgerFact(db: Db, fact: LedgerFact, now: Date): Promise<boolean> {
  const inserted = await db
    .insert(ledgerEntries)
    .values({
      id: newId('led'),
      ...fact,
      paymentMethod: fact.paymentMethod ?? null,
      reasonCode: fact.reasonCode ?? null,
      createdAt: now,
    })
    .onConflictDoNothing({ target: [ledgerEntries.sourceId, ledgerEntries.effect] })
    .returning({ id: ledgerEntries.id });
  return inserted.length > 0;
}

/**
 * Moves a payment's settlement on: processing → settled or failed, and a failed attempt → processing or settled when
 * the same PaymentIntent is tried again (Stripe retries an invoice on its PaymentIntent). A settled payment never
 * changes here: money taken back later is its own entry (refund, dispute). The one change a ledger entry allows.
 */
export async function settleLedgerFact(
  db: Db,
  source: { sourceId: string; effect: string },
  outcome: 'processing' | 'settled' | 'failed',
  reasonCode?: string | null,
): Promise<void> {
  await db
    .update(ledgerEntries)
    .set({ settlement: outcome, reasonCode: outcome === 'failed' ? (reasonCode ?? null) : null })
    .where(
      and(
        eq(ledgerEntries.sourceId, source.sourceId),
        eq(ledgerEntries.effect, source.effect),
        ne(ledgerEntries.settlement, 'settled'),
        ne(ledgerEntries.settlement, outcome),
      ),
    );
}

/**
 * Records a payment at its current settlement: the first sighting inserts it, a later one moves its settlement on
 * (see settleLedgerFact). Every path that sees the same payment (checkout session, payment intent, invoice) calls
 * this with the same source, so the payment is counted once however many events announce it.
 */
export async function recordPayment(db: Db, fact: LedgerFact, now: Date): Promise<void> {
  const isNew = await recordLedgerFact(db, fact, now);
  if (!isNew) await settleLedgerFact(db, fact, fact.settlement, fact.reasonCode);
}
