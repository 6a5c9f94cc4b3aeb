/**
 * Reconciliation: what webhooks missed, found by asking Stripe. It replays events the inbox lacks (from Stripe's
 * event list, since a checkpoint) and compares, per invoice and payment, what the ledger says was paid with what
 * Stripe says — reporting every difference rather than silently "fixing" money.
 */
import { and, eq, gt, gte, inArray, isNotNull, ne, or, type SQL, sql } from 'drizzle-orm';
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
/** When the last runs started (service clock, ms): the window of an incremental comparison. */
const RUNS = 'reconcile_runs';
/** A scheduled run compares everything at least this often; in between only what can still change. */
export const FULL_COMPARISON_EVERY_MS = 24 * 3600_000;

interface RunTimes {
  lastStartedAt: number;
  lastFullAt: number;
}

/**
 * Which invoices and links a run compares with Stripe. `full`: every one. Otherwise those still waiting
 * for money (open or uncollectible invoices, active or processing links: a lost webhook leaves them so)
 * and any row changed since `changedSince` — so a run costs Stripe requests in proportion to what is
 * outstanding and recent, not to the whole history (Stripe limits the request rate).
 */
type ComparisonScope = { full: true } | { full: false; changedSince: Date };

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
  /** Whether every invoice and link was compared, or only the outstanding and recently changed ones. */
  full: boolean;
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
async function compareInvoices(
  deps: ServiceDeps,
  scope: ComparisonScope,
): Promise<{ checked: number; differences: Difference[] }> {
  const window: SQL | undefined = scope.full
    ? undefined
    : or(inArray(invoices.status, ['open', 'uncollectible']), gte(invoices.updatedAt, scope.changedSince));
  const rows = await deps.db
    .select()
    .from(invoices)
    .where(
      and(
        isNotNull(invoices.stripeInvoiceId),
        inArray(invoices.status, ['open', 'paid', 'uncollectible']),
        window,
      ),
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
  scope: ComparisonScope,
): Promise<{ checked: number; differences: Difference[] }> {
  const window: SQL | undefined = scope.full
    ? undefined
    : or(
        inArray(paymentLinks.status, ['active', 'processing']),
        gte(paymentLinks.updatedAt, scope.changedSince),
      );
  const links = await deps.db
    .select()
    .from(paymentLinks)
    .where(and(isNotNull(paymentLinks.stripePaymentLinkId), ne(paymentLinks.status, 'creating'), window));
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
 * `full`: compare every invoice and link; by default only the first run and one a day do (FULL_COMPARISON_EVERY_MS),
 * the others compare what is outstanding or changed since the previous run started.
 */
export async function reconcile(
  deps: ServiceDeps,
  options: { applyNow?: () => Promise<void>; full?: boolean } = {},
): Promise<ReconcileReport> {
  const startedAt = deps.clock.now();
  const nowSeconds = Math.floor(startedAt / 1000);
  const checkpoint = await readSetting<number>(deps.db, CHECKPOINT);
  const runs = await readSetting<RunTimes>(deps.db, RUNS);
  const full = options.full === true || !runs || startedAt - runs.lastFullAt >= FULL_COMPARISON_EVERY_MS;
  const scope: ComparisonScope = full
    ? { full: true }
    : { full: false, changedSince: new Date(runs.lastStartedAt - OVERLAP_SECONDS * 1000) };
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
  const invoiceCheck = await compareInvoices(deps, scope);
  const linkCheck = await compareLinkPayments(deps, scope);
  const checked = invoiceCheck.checked;
  const differences = [...invoiceCheck.differences, ...linkCheck.differences];
  for (const d of differences) deps.log.warn({ difference: d }, 'ledger and Stripe disagree');
  await writeSetting(deps.db, CHECKPOINT, Math.max(until, checkpoint ?? 0), new Date(deps.clock.now()));
  const nextRuns: RunTimes = {
    lastStartedAt: Math.max(startedAt, runs?.lastStartedAt ?? 0),
    lastFullAt: full ? Math.max(startedAt, runs?.lastFullAt ?? 0) : (runs?.lastFullAt ?? 0),
  };
  await writeSetting(deps.db, RUNS, nextRuns, new Date(deps.clock.now()));
  return {
    full,
    since,
    until,
    eventsScanned: scanned,
    eventsReplayed: replayed,
    invoicesChecked: checked,
    linksChecked: linkCheck.checked,
    differences,
  };
}
