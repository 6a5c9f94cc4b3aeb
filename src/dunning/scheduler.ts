/**
 * The dunning clock job. `runDunning(deps, today)` opens a case for every overdue open invoice (not
 * waiting for Stripe's invoice.overdue), then moves each active case by at most one step: a letter,
 * the wait for a human decision, or closing. It depends only on the rows and `today`, so running it
 * twice a day, after a week of downtime, or on two instances at once gives the same letters once:
 * - each case is advanced in its own transaction that holds the case row (`FOR UPDATE SKIP LOCKED`:
 *   a second scheduler skips a case the first is working on);
 * - the letter row, the case's new level and the outbox message commit together, and
 *   UNIQUE (case_id, level) turns a second attempt at the same letter into a no-op;
 * - the invoice row is read again inside that transaction, so a letter is never written for money
 *   that has arrived, and the outbox sender checks once more before the letter leaves.
 */
import { and, asc, eq, gt, inArray, isNull, lt, ne } from 'drizzle-orm';
import { buyers } from '../customers/schema.ts';
import { terminationCheckFor } from '../financing/service.ts';
import { type InvoiceRow, invoices } from '../invoices/schema.ts';
import { type BusinessDate, berlinDate } from '../platform/dates.ts';
import type { Db } from '../platform/db/index.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { NotFoundError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { type Cents, cents, sumCents } from '../platform/money.ts';
import { enqueueOutbox, type OutboxDispatcher, type OutboxSenders } from '../platform/outbox.ts';
import { readSetting, writeSetting } from '../platform/settings.ts';
import { stripeIdempotencyKey } from '../stripe/idempotency.ts';
import { currentBaseRateTable } from './base-rate-settings.ts';
import type { BaseRateTable } from './base-rates.ts';
import { InvalidDunningInputError } from './errors.ts';
import { businessFlatFee, calculateDefaultInterest, defaultStartForDueDate } from './interest.ts';
import { renderDunningLetter } from './letter.ts';
import type { Mailer } from './mailer.ts';
import { letterPdfFilename, renderTextPdf } from './pdf.ts';
import { type DunningStep, paymentDeadline, planDunningStep, type SentLetter } from './plan.ts';
import { feesUpToLevel, LOAN_CALL_WARNING_DAYS, levelOf } from './policy.ts';
import { type CaseRow, dunningCases, dunningLetters } from './schema.ts';
import {
  addressLines,
  audit,
  caseTags,
  closeCaseOfInvoice,
  creditorOf,
  openAmountOf,
  openCase,
  paymentInFlight,
  unappliedTransferHolds,
  updateCase,
} from './service.ts';

/** The outbox topic of dunning letters. */
export const LETTER_TOPIC = 'dunning.letter';

/** What one run did. */
export interface DunningRunResult {
  today: BusinessDate;
  opened: number;
  lettersQueued: number;
  awaitingDecision: number;
  closed: number;
  /** Cases that could not be planned (e.g. a gap in the letter history); logged, left for a human. */
  failed: number;
}

/** A payment URL for the letter and what it is. */
interface PaymentUrl {
  url: string;
  kind: 'hosted_invoice' | 'payment_link';
  /** The open amount a payment link was made for; a hosted invoice page always shows the current one. */
  amount?: number;
}

/** Runs the dunning job for one business day (default: today by the injected clock). */
export async function runDunning(deps: ServiceDeps, today?: BusinessDate): Promise<DunningRunResult> {
  const day = today ?? berlinDate(deps.clock.now());
  const result: DunningRunResult = {
    today: day,
    opened: await openOverdueCases(deps, day),
    lettersQueued: 0,
    awaitingDecision: 0,
    closed: 0,
    failed: 0,
  };
  const active = await deps.db
    .select({ id: dunningCases.id })
    .from(dunningCases)
    .where(inArray(dunningCases.stage, ['dunning', 'awaiting_decision']))
    .orderBy(asc(dunningCases.createdAt), asc(dunningCases.id));
  // Read once per run: every letter of a day uses the same table (the admin's or the shipped one).
  const table = await currentBaseRateTable(deps.db);
  for (const { id } of active) {
    try {
      const outcome = await advanceCase(deps, id, day, table);
      if (outcome === 'letter') result.lettersQueued++;
      if (outcome === 'awaiting_decision') result.awaitingDecision++;
      if (outcome === 'closed') result.closed++;
    } catch (err) {
      // One broken case must not hold up the others' letters.
      result.failed++;
      deps.log.error({ err, caseId: id }, 'dunning: case could not be advanced');
    }
  }
  if (result.opened + result.lettersQueued + result.closed + result.awaitingDecision + result.failed > 0) {
    deps.log.info({ ...result }, 'dunning run');
  }
  return result;
}

/** Opens a case for every open invoice past its due date with money still owed and no case yet. */
async function openOverdueCases(deps: ServiceDeps, today: BusinessDate): Promise<number> {
  const overdue = await deps.db
    .select({ invoice: invoices })
    .from(invoices)
    .leftJoin(dunningCases, eq(dunningCases.invoiceId, invoices.id))
    .where(
      and(
        eq(invoices.status, 'open'),
        lt(invoices.dueDate, today),
        gt(invoices.amountRemaining, 0),
        isNull(dunningCases.id),
      ),
    )
    .orderBy(asc(invoices.dueDate), asc(invoices.id));
  let opened = 0;
  for (const { invoice } of overdue) {
    const created = await deps.db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      const before = await tx
        .select({ id: dunningCases.id })
        .from(dunningCases)
        .where(eq(dunningCases.invoiceId, invoice.id));
      if (before.length > 0) return undefined;
      return openCase(tx, deps, invoice, {
        origin: 'overdue',
        dueDate: invoice.dueDate as BusinessDate,
        today,
      });
    });
    if (created) {
      opened++;
      await deps.cache.invalidateTags(caseTags(created));
    }
  }
  return opened;
}

type Outcome = 'letter' | 'awaiting_decision' | 'closed' | 'none' | 'skipped';

function stepFor(
  c: CaseRow,
  invoice: InvoiceRow,
  letters: readonly SentLetter[],
  today: BusinessDate,
): DunningStep {
  return planDunningStep({
    policy: c.policy,
    dueDate: c.dueDate as BusinessDate,
    today,
    lettersSent: letters,
    paused: c.paused || c.buyerPaused,
    openAmount: openAmountOf(c, invoice),
    paymentProcessing: paymentInFlight(c, invoice),
    disputed: c.disputed,
    unappliedTransfer: unappliedTransferHolds(c, today),
  });
}

async function lettersOf(db: Db, caseId: string): Promise<SentLetter[]> {
  const rows = await db
    .select({ level: dunningLetters.level, sentOn: dunningLetters.letterDate })
    .from(dunningLetters)
    .where(eq(dunningLetters.caseId, caseId));
  return rows.map((r) => ({ level: r.level, sentOn: r.sentOn as BusinessDate }));
}

function terminalReason(c: CaseRow, invoice: InvoiceRow): string | undefined {
  // A reclaimed debit's invoice stays paid at Stripe: the case closes when the reclaimed amount is paid.
  if (c.reclaimedAmount !== null) return invoice.status === 'void' ? 'voided' : undefined;
  if (invoice.status === 'paid') return 'paid';
  if (invoice.status === 'void') return 'voided';
  if (invoice.status === 'uncollectible') return 'uncollectible';
  if (invoice.amountRemaining <= 0) return 'paid';
  return undefined;
}

/** Moves one case by at most one step. */
async function advanceCase(
  deps: ServiceDeps,
  caseId: string,
  today: BusinessDate,
  table: BaseRateTable,
): Promise<Outcome> {
  // A first look without locks: only a case about to get a letter needs the (network) payment URL.
  const [peek] = await deps.db
    .select({ c: dunningCases, invoice: invoices })
    .from(dunningCases)
    .innerJoin(invoices, eq(invoices.id, dunningCases.invoiceId))
    .where(eq(dunningCases.id, caseId));
  if (!peek) return 'skipped';
  let payment: PaymentUrl | undefined;
  if (!terminalReason(peek.c, peek.invoice)) {
    const step = stepFor(peek.c, peek.invoice, await lettersOf(deps.db, caseId), today);
    if (step.action === 'send_letter') payment = await paymentUrlFor(deps, peek.c, peek.invoice);
  }

  let changed: CaseRow | undefined;
  const outcome = await deps.db.transaction(async (txx): Promise<Outcome> => {
    const tx = txx as unknown as Db;
    const [c] = await tx
      .select()
      .from(dunningCases)
      .where(eq(dunningCases.id, caseId))
      .for('update', { skipLocked: true });
    if (!c || (c.stage !== 'dunning' && c.stage !== 'awaiting_decision')) return 'skipped';
    const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, c.invoiceId));
    if (!invoice) return 'skipped';
    const now = new Date(deps.clock.now());

    const closing = terminalReason(c, invoice);
    if (closing) {
      changed = await closeCaseOfInvoice(tx, deps, invoice.id, closing);
      return 'closed';
    }
    const letters = await lettersOf(tx, c.id);
    const step = stepFor(c, invoice, letters, today);
    switch (step.action) {
      case 'close':
        changed = await closeCaseOfInvoice(tx, deps, invoice.id, 'paid');
        return 'closed';
      case 'await_decision': {
        if (c.stage === 'awaiting_decision') return 'none';
        changed = await updateCase(tx, c, { stage: 'awaiting_decision' }, now);
        await audit(
          tx,
          {
            caseId: c.id,
            buyerId: c.buyerId,
            dealerId: c.dealerId,
            action: 'awaiting_decision',
            actor: 'system',
            reason:
              'Letzte Frist abgelaufen: Inkasso, gerichtliches Mahnverfahren oder Ausbuchung entscheiden',
            details: { options: c.policy.escalation.options },
          },
          now,
        );
        return 'awaiting_decision';
      }
      case 'send_letter': {
        const usable =
          payment && (payment.amount === undefined || payment.amount === openAmountOf(c, invoice));
        const written = await writeLetter(
          tx,
          deps,
          c,
          invoice,
          step.level,
          today,
          usable ? payment : undefined,
          table,
        );
        if (!written) return 'none';
        changed = await updateCase(tx, c, { level: step.level }, now);
        return 'letter';
      }
      case 'none':
        return 'none';
    }
  });
  if (changed) await deps.cache.invalidateTags(caseTags(changed));
  return outcome;
}

/** How many claims of a buyer are being dunned (cases not closed). */
async function openCasesOfBuyer(tx: Db, buyerId: string): Promise<number> {
  const rows = await tx
    .select({ id: dunningCases.id })
    .from(dunningCases)
    .where(and(eq(dunningCases.buyerId, buyerId), ne(dunningCases.stage, 'closed')));
  return rows.length;
}

/** Renders and records one letter and queues its delivery; false if this level was written already. */
async function writeLetter(
  tx: Db,
  deps: ServiceDeps,
  c: CaseRow,
  invoice: InvoiceRow,
  levelNumber: number,
  today: BusinessDate,
  payment: PaymentUrl | undefined,
  table: BaseRateTable,
): Promise<boolean> {
  const level = levelOf(c.policy, levelNumber);
  if (!level) throw new InvalidDunningInputError(`the case's policy has no level ${levelNumber}`);
  const [buyer] = await tx.select().from(buyers).where(eq(buyers.id, c.buyerId));
  if (!buyer) throw new Error(`buyer ${c.buyerId} not found`);
  const { creditor, placeholder } = await creditorOf(tx, c.dealerId);
  const openAmount = cents(openAmountOf(c, invoice));
  const interest = calculateDefaultInterest({
    principal: openAmount,
    defaultStart: defaultStartForDueDate(c.dueDate as BusinessDate),
    until: today,
    debtorType: c.debtorType,
    table,
  });
  const fees = feesUpToLevel(c.policy, levelNumber);
  const flatFee = businessFlatFee(c.debtorType);
  const deadline = paymentDeadline(level, today);
  const warning = await loanCallWarningFor(tx, deps, c, invoice, levelNumber, today);
  const letter = renderDunningLetter({
    level: levelNumber,
    policy: c.policy,
    creditor,
    debtor: { name: buyer.name, address: addressLines(buyer.address), type: c.debtorType },
    invoice: {
      number: invoice.number ?? invoice.id,
      issueDate: berlinDate(invoice.createdAt.getTime()),
      dueDate: c.dueDate as BusinessDate,
      amount: cents(invoice.amount),
      openAmount,
    },
    interest,
    fees,
    ...(flatFee > 0 ? { flatFee } : {}),
    deadline,
    ...(payment ? { paymentLinkUrl: payment.url } : {}),
    ...(warning ? { loanCallWarning: { arrears: warning.arrears } } : {}),
    ...(c.buyerUnappliedTransfer > 0
      ? {
          unappliedTransfer: {
            amount: cents(c.buyerUnappliedTransfer),
            onlyClaim: (await openCasesOfBuyer(tx, c.buyerId)) === 1,
          },
        }
      : {}),
    today,
  });
  const now = new Date(deps.clock.now());
  const letterId = newId('dlt');
  const inserted = await tx
    .insert(dunningLetters)
    .values({
      id: letterId,
      caseId: c.id,
      dealerId: c.dealerId,
      level: levelNumber,
      levelName: level.name,
      letterDate: today,
      deadline,
      recipientEmail: buyer.email,
      subject: letter.subject,
      bodyText: letter.text,
      bodyHtml: letter.html,
      items: letter.items,
      openAmount,
      interest: level.chargesInterest ? interest.total : 0,
      fees: sumCents(fees.map((f) => f.amount)),
      flatFee,
      totalDue: letter.totalDue,
      paymentUrl: payment?.url ?? null,
      paymentUrlKind: payment?.kind ?? null,
      creditorPlaceholder: placeholder,
      status: 'queued',
      createdAt: now,
    })
    .onConflictDoNothing({ target: [dunningLetters.caseId, dunningLetters.level] })
    .returning({ id: dunningLetters.id });
  if (inserted.length === 0) return false;
  await enqueueOutbox(tx, {
    topic: LETTER_TOPIC,
    payload: { letterId },
    dedupeKey: `dunning-letter:${c.id}:${levelNumber}`,
    now,
  });
  await audit(
    tx,
    {
      caseId: c.id,
      buyerId: c.buyerId,
      dealerId: c.dealerId,
      action: 'letter_queued',
      actor: 'system',
      reason: level.name,
      details: {
        letterId,
        level: levelNumber,
        deadline,
        totalDue: letter.totalDue,
        interest: level.chargesInterest ? interest.total : 0,
        creditorPlaceholder: placeholder,
        // The record escalation reads: this letter is the § 498 warning (see checkCallLoan).
        ...(warning ? { loanCallWarning: warning } : {}),
      },
    },
    now,
  );
  return true;
}

/**
 * Whether this letter is the § 498 BGB warning: the last letter of a financing instalment, with the two
 * weeks the financing policy gives (a case opened under an older policy may not have them), and only when
 * the grounds (two consecutive instalments, the arrears threshold) hold today. Threatening to call a
 * loan that may not be called would be an empty threat, and such a warning would not count anyway.
 */
async function loanCallWarningFor(
  tx: Db,
  deps: ServiceDeps,
  c: CaseRow,
  invoice: InvoiceRow,
  levelNumber: number,
  today: BusinessDate,
): Promise<{ arrears: Cents; threshold: Cents; consecutiveMissed: number } | undefined> {
  const level = levelOf(c.policy, levelNumber);
  if (!invoice.financingPlanId || levelNumber !== c.policy.levels.length) return undefined;
  if (!level || level.paymentDeadlineDays < LOAN_CALL_WARNING_DAYS) return undefined;
  // Inside the case's transaction: on PGlite it is the only connection.
  const check = await terminationCheckFor({ ...deps, db: tx }, invoice.financingPlanId, today).catch(
    (err) => {
      // A plan that cannot be read must not hold back the letter: it goes out as an ordinary last letter.
      if (!(err instanceof NotFoundError)) throw err;
      deps.log.warn({ caseId: c.id, planId: invoice.financingPlanId }, 'dunning: financing plan not found');
      return undefined;
    },
  );
  // Asked without an earlier warning, `canSendWarning` means: the § 498 grounds hold today.
  if (!check?.canSendWarning) return undefined;
  return { arrears: check.arrears, threshold: check.threshold, consecutiveMissed: check.consecutiveMissed };
}

/**
 * How the buyer can pay online. The invoice's own hosted page comes first: paying it settles the very
 * invoice Stripe may be retrying (Smart Retries on a financing instalment), so Stripe stops retrying
 * and nothing can be paid twice. Only an invoice without a hosted page gets a Payment Link (one
 * completed session, metadata naming our invoice and case); financing invoices never do, because a
 * second payable object beside a retried invoice could charge the buyer twice.
 */
async function paymentUrlFor(
  deps: ServiceDeps,
  c: CaseRow,
  invoice: InvoiceRow,
): Promise<PaymentUrl | undefined> {
  // A reclaimed debit's invoice is paid at Stripe (its hosted page takes nothing more, and Stripe retries
  // nothing): the reclaimed amount is payable only through a Payment Link of its own.
  const reclaimed = c.reclaimedAmount !== null;
  if (!reclaimed) {
    if (invoice.hostedInvoiceUrl) return { url: invoice.hostedInvoiceUrl, kind: 'hosted_invoice' };
    if (invoice.financingPlanId) return undefined;
  }
  const amount = openAmountOf(c, invoice);
  try {
    const product = await openClaimProduct(deps);
    const key = (effect: string) => ({
      idempotencyKey: stripeIdempotencyKey(
        'dunning-case',
        c.id,
        `${reclaimed ? `reclaim:${c.reclaimDisputeId}:` : ''}${effect}:${amount}`,
      ),
    });
    const price = await deps.stripe.prices.create(
      { currency: 'eur', unit_amount: amount, product },
      key('price'),
    );
    const metadata = { moreloInvoiceId: invoice.id, moreloDunningCaseId: c.id, dealerId: c.dealerId };
    const link = await deps.stripe.paymentLinks.create(
      {
        line_items: [{ price: price.id, quantity: 1 }],
        metadata,
        payment_intent_data: { metadata },
        restrictions: { completed_sessions: { limit: 1 } },
      },
      key('payment-link'),
    );
    return { url: link.url, kind: 'payment_link', amount };
  } catch (err) {
    // The letter still names the bank account; a missing link must not stop it.
    deps.log.warn({ err, caseId: c.id }, 'dunning: no payment link; the letter asks for a bank transfer');
    return undefined;
  }
}

const OPEN_CLAIM_PRODUCT = 'dunning.openClaimProduct';

/** One product for every open-claim price (not one per case: products with prices cannot be deleted). */
async function openClaimProduct(deps: ServiceDeps): Promise<string> {
  const known = await readSetting<string>(deps.db, OPEN_CLAIM_PRODUCT);
  if (known) return known;
  const product = await deps.stripe.products.create(
    { name: 'Offene Forderung', metadata: { purpose: 'dunning' } },
    { idempotencyKey: stripeIdempotencyKey('dunning', 'open-claim', 'product') },
  );
  await writeSetting(deps.db, OPEN_CLAIM_PRODUCT, product.id, new Date(deps.clock.now()));
  return product.id;
}

/**
 * The outbox sender of letters. It looks at the invoice once more: a letter whose money arrived (or
 * whose case stopped) after it was written is withdrawn, not sent.
 */
export function letterSenders(mailer: Mailer): OutboxSenders {
  return {
    [LETTER_TOPIC]: async ({ tx, deps }, row) => {
      const letterId = String(row.payload.letterId);
      const [letter] = await tx
        .select()
        .from(dunningLetters)
        .where(eq(dunningLetters.id, letterId))
        .for('update');
      if (letter?.status !== 'queued') return;
      const [c] = await tx.select().from(dunningCases).where(eq(dunningCases.id, letter.caseId));
      const [invoice] = c ? await tx.select().from(invoices).where(eq(invoices.id, c.invoiceId)) : [];
      const now = new Date(deps.clock.now());
      const stopReason =
        !c || !invoice ? 'case missing' : withdrawReason(c, invoice, berlinDate(deps.clock.now()));
      if (stopReason) {
        await tx.update(dunningLetters).set({ status: 'withdrawn' }).where(eq(dunningLetters.id, letter.id));
        if (c) {
          await audit(
            tx,
            {
              caseId: c.id,
              buyerId: c.buyerId,
              dealerId: c.dealerId,
              action: 'letter_withdrawn',
              actor: 'system',
              reason: stopReason,
              details: { letterId: letter.id, level: letter.level },
            },
            now,
          );
        }
        return;
      }
      const receipt = await mailer.send({
        letterId: letter.id,
        dedupeKey: row.dedupeKey,
        to: letter.recipientEmail,
        subject: letter.subject,
        text: letter.bodyText,
        html: letter.bodyHtml,
        pdf: renderTextPdf(letter.subject, letter.bodyText),
        pdfFilename: letterPdfFilename(invoice?.number ?? invoice?.id ?? letter.id, letter.level),
        creditorPlaceholder: letter.creditorPlaceholder,
      });
      await tx
        .update(dunningLetters)
        .set({ status: 'sent', deliveredVia: receipt.deliveredVia, sentAt: now })
        .where(eq(dunningLetters.id, letter.id));
      if (c) {
        await audit(
          tx,
          {
            caseId: c.id,
            buyerId: c.buyerId,
            dealerId: c.dealerId,
            action: 'letter_sent',
            actor: 'system',
            reason: letter.levelName,
            details: { letterId: letter.id, deliveredVia: receipt.deliveredVia },
          },
          now,
        );
      }
    },
  };
}

function withdrawReason(c: CaseRow, invoice: InvoiceRow, today: BusinessDate): string | undefined {
  const closing = terminalReason(c, invoice);
  if (closing) return `invoice ${closing}`;
  if (c.stage === 'closed') return `case closed (${c.closedReason ?? 'closed'})`;
  if (c.disputed) return 'disputed';
  if (c.paused || c.buyerPaused) return 'paused';
  if (paymentInFlight(c, invoice)) return 'payment processing';
  if (unappliedTransferHolds(c, today)) return 'unmatched bank transfer';
  return undefined;
}

/**
 * The dunning clock job (the shape `ClockJobs` runs): today's run, then the letters it queued are
 * dispatched at once, so advance-time shows them as sent.
 */
export function dunningClockJob(outbox: OutboxDispatcher): {
  name: string;
  run(deps: ServiceDeps): Promise<DunningRunResult>;
} {
  return {
    name: 'dunning',
    run: async (deps) => {
      const result = await runDunning(deps);
      await outbox.drain();
      return result;
    },
  };
}
