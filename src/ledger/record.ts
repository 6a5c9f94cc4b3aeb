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
  settlement: 'settled' | 'processing';
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
