/**
 * Reconciliation: what webhooks missed, found by asking Stripe. It replays events the inbox lacks (from Stripe's
 * event list, since a checkpoint) and compares, per invoice and payment, what the ledger says was paid with what
 * Stripe says — reporting every difference rather than silently "fixing" money.
 */
import { and, eq, gt, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import { invoices } from '../invoices/schema.ts';
import { ledgerEntries } from '../ledger/schema.ts';
import { paymentLinks } from '../payment-links/schema.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { readSetting, writeSetting } from '../platform/settings.ts';
import { storeEvent } from '../webhooks/receive.ts';
import { webhookInbox } from '../webhooks/schema.ts';

const CHECKPOINT = 'reconcile_checkpoint';
/** Events may become visible in the list slightly out of order: look back a little before the checkpoint. */
const OVERLAP_SECONDS = 10 * 60;
/** Stripe keeps events for 30 days; a first run looks back that far. */
const FIRST_RUN_LOOKBACK_SECONDS = 30 * 24 * 3600;

/** One place where our ledger and Stripe disagree. */
export interface Difference {
  dealerId: string;
  vehicleId: string;
  invoiceId: string | null;
  stripeObject: string;
  ours: number;
  stripe: number;
  note: string;
}

/** What a run found and did. */
export interface ReconcileReport {
  since: number;
  until: number;
  eventsScanned: number;
  eventsReplayed: string[];
  invoicesChecked: number;
  linksChecked: number;
  differences: Difference[];
}

/** Lists Stripe events since the checkpoint and stores the ones the inbox lacks (the processor applies them). */
async function replayMissedEvents(
  deps: ServiceDeps,
  since: number,
): Promise<{ scanned: number; replayed: string[]; until: number }> {
  let scanned = 0;
  let until = since;
  const replayed: string[] = [];
  const batch: Stripe.Event[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const ids = batch.map((e) => e.id);
    const known = new Set(
      (
        await deps.db
          .select({ id: webhookInbox.eventId })
          .from(webhookInbox)
          .where(inArray(webhookInbox.eventId, ids))
      ).map((r) => r.id),
    );
    for (const event of batch) {
      if (!known.has(event.id) && (await storeEvent(deps.db, deps.clock, event))) replayed.push(event.id);
    }
    batch.length = 0;
  };
  for await (const event of deps.stripe.events.list({ created: { gte: since }, limit: 100 })) {
    scanned++;
    until = Math.max(until, event.created);
    batch.push(event);
    if (batch.length >= 100) await flush();
  }
  await flush();
  return { scanned, replayed, until };
}

/** Compares each settled invoice payment in the ledger with the invoice at Stripe. */
async function compareInvoices(deps: ServiceDeps): Promise<{ checked: number; differences: Difference[] }> {
  const rows = await deps.db
    .select()
    .from(invoices)
    .where(
      and(isNotNull(invoices.stripeInvoiceId), inArray(invoices.status, ['open', 'paid', 'uncollectible'])),
    );
  const paidByInvoice = new Map<string, number>();
  const sums = await deps.db
    .select({ invoiceId: ledgerEntries.invoiceId, total: sql<string>`sum(${ledgerEntries.amount})` })
    .from(ledgerEntries)
    .where(
      and(
        isNotNull(ledgerEntries.invoiceId),
        eq(ledgerEntries.settlement, 'settled'),
        gt(ledgerEntries.amount, 0),
      ),
    )
    .groupBy(ledgerEntries.invoiceId);
  for (const s of sums) if (s.invoiceId) paidByInvoice.set(s.invoiceId, Number(s.total));

  const differences: Difference[] = [];
  for (const row of rows) {
    const stripeInvoice = await deps.stripe.invoices.retrieve(row.stripeInvoiceId as string);
    // Payments only: refunds reduce our net but not Stripe's amount_paid.
    const oursPaid = paidByInvoice.get(row.id) ?? 0;
    if (
      oursPaid !== stripeInvoice.amount_paid ||
      (stripeInvoice.status === 'paid') !== (row.status === 'paid')
    ) {
      differences.push({
        dealerId: row.dealerId,
        vehicleId: row.vehicleId,
        invoiceId: row.id,
        stripeObject: stripeInvoice.id,
        ours: oursPaid,
        stripe: stripeInvoice.amount_paid,
        note: `ours: ${row.status}, Stripe: ${stripeInvoice.status}`,
      });
    }
  }
  return { checked: rows.length, differences };
}

/**
 * Compares each payment link's payments at Stripe (its Checkout Sessions' PaymentIntents) with the ledger: money
 * Stripe collected that the ledger lacks (a lost webhook), or a ledger entry Stripe does not back.
 */
async function compareLinkPayments(
  deps: ServiceDeps,
): Promise<{ checked: number; differences: Difference[] }> {
  const links = await deps.db
    .select()
    .from(paymentLinks)
    .where(and(isNotNull(paymentLinks.stripePaymentLinkId), ne(paymentLinks.status, 'creating')));
  const differences: Difference[] = [];
  for (const link of links) {
    const sessions = await deps.stripe.checkout.sessions.list({
      payment_link: link.stripePaymentLinkId as string,
      limit: 100,
    });
    for (const session of sessions.data) {
      const piId =
        typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
      if (!piId) continue;
      const pi = await deps.stripe.paymentIntents.retrieve(piId);
      const atStripe = pi.status === 'succeeded' ? pi.amount : 0;
      const [entry] = await deps.db
        .select()
        .from(ledgerEntries)
        .where(and(eq(ledgerEntries.sourceId, piId), eq(ledgerEntries.effect, 'payment')));
      const ours = entry?.settlement === 'settled' ? entry.amount : 0;
      if (ours !== atStripe) {
        differences.push({
          dealerId: link.dealerId,
          vehicleId: link.vehicleId,
          invoiceId: null,
          stripeObject: piId,
          ours,
          stripe: atStripe,
          note: `payment link ${link.id}: ours ${entry?.settlement ?? 'missing'}, Stripe ${pi.status}`,
        });
      }
    }
  }
  return { checked: links.length, differences };
}

/**
 * One reconciliation run: replays missed events (and lets the processor apply them), then compares the ledger with
 * Stripe. Safe to run on several instances at once (replays are deduplicated by event id; comparison only reads).
 */
export async function reconcile(
  deps: ServiceDeps,
  options: { applyNow?: () => Promise<void> } = {},
): Promise<ReconcileReport> {
  const nowSeconds = Math.floor(deps.clock.now() / 1000);
  const checkpoint = await readSetting<number>(deps.db, CHECKPOINT);
  const since =
    checkpoint !== undefined ? checkpoint - OVERLAP_SECONDS : nowSeconds - FIRST_RUN_LOOKBACK_SECONDS;
  const { scanned, replayed, until } = await replayMissedEvents(deps, since);
  if (replayed.length > 0) {
    deps.log.warn(
      { count: replayed.length },
      'reconciliation found events the webhook missed; replaying them',
    );
    await options.applyNow?.();
  }
  const invoiceCheck = await compareInvoices(deps);
  const linkCheck = await compareLinkPayments(deps);
  const checked = invoiceCheck.checked;
  const differences = [...invoiceCheck.differences, ...linkCheck.differences];
  for (const d of differences) deps.log.warn({ difference: d }, 'ledger and Stripe disagree');
  await writeSetting(deps.db, CHECKPOINT, Math.max(until, checkpoint ?? 0), new Date(deps.clock.now()));
  return {
    since,
    until,
    eventsScanned: scanned,
    eventsReplayed: replayed,
    invoicesChecked: checked,
    linksChecked: linkCheck.checked,
    differences,
  };
}
