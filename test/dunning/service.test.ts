import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDunning } from '../../src/dunning/scheduler.ts';
import { invoices } from '../../src/invoices/schema.ts';
import { type BusinessDate, berlinStartOfDay } from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { formatEuro } from '../../src/platform/money.ts';
import { outbox } from '../../src/platform/outbox.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { days, depsOf, expectedInterest, insertBuyer, insertOpenInvoice } from './service-fixtures.ts';

type Dealer = Awaited<ReturnType<TestApp['createDealer']>>;

describe('dunning: the ladder, interest, catch-up and concurrency', () => {
  let t: TestApp;
  let deps: ServiceDeps;
  let a: Dealer;
  let b: Dealer;

  beforeAll(async () => {
    t = await createTestApp();
    deps = depsOf(t);
    a = await t.createDealer('Reisemobile Nord');
    b = await t.createDealer('Caravan Süd');
  });
  afterAll(() => t.close());

  /** One scheduler run on a day, the way the clock job does it, with the letters dispatched. */
  async function runOn(day: BusinessDate) {
    t.clock.set(berlinStartOfDay(day) + 8 * 3_600_000);
    const result = await runDunning(deps, day);
    await t.app.outbox.drain();
    return result;
  }

  async function caseOf(invoiceId: string, auth = a.auth) {
    const list = await t.app.inject({ url: '/api/payments/dunning?limit=100', headers: auth });
    const found = list.json().data.find((c: { invoice: { id: string } }) => c.invoice.id === invoiceId);
    if (!found) return undefined;
    const detail = await t.app.inject({ url: `/api/payments/dunning/${found.id}`, headers: auth });
    expect(detail.statusCode).toBe(200);
    return detail.json();
  }

  it('walks a consumer’s € 75,000 invoice through the whole ladder on the policy’s days, interest to the cent', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer');
    const due = '2026-01-15' as BusinessDate;
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 7_500_000,
      dueDate: due,
    });

    const letterDays: string[] = [];
    for (const day of days('2026-01-15' as BusinessDate, '2026-03-19' as BusinessDate)) {
      const r = await runOn(day);
      if (r.lettersQueued > 0) letterDays.push(day);
    }
    // 7, 21, 35, 49 days after the due date; each next letter after the previous deadline has passed.
    expect(letterDays).toEqual(['2026-01-22', '2026-02-05', '2026-02-19', '2026-03-05']);

    const c = await caseOf(invoiceId);
    expect(c.status).toBe('awaiting_decision');
    expect(c.level).toBe(4);
    expect(c.levelName).toBe('Letzte Mahnung');
    expect(c.daysOverdue).toBe(63);
    // Base rate 1.27 % from 1 Jan 2026 + 5 points for a consumer = 6.27 % a year; default from 16 Jan.
    const letters = c.letters as Array<Record<string, unknown>>;
    const expected = [
      {
        level: 1,
        levelName: 'Zahlungserinnerung',
        letterDate: '2026-01-22',
        deadline: '2026-02-02',
        interest: 0,
        fees: 0,
      },
      {
        level: 2,
        levelName: '1. Mahnung',
        letterDate: '2026-02-05',
        deadline: '2026-02-16',
        interest: expectedInterest(7_500_000, 627, 21),
        fees: 150,
      },
      {
        level: 3,
        levelName: '2. Mahnung',
        letterDate: '2026-02-19',
        deadline: '2026-03-02',
        interest: expectedInterest(7_500_000, 627, 35),
        fees: 300,
      },
      {
        level: 4,
        levelName: 'Letzte Mahnung',
        letterDate: '2026-03-05',
        deadline: '2026-03-16',
        interest: expectedInterest(7_500_000, 627, 49),
        fees: 550,
      },
    ];
    expect(
      letters.map((l) => ({
        level: l.level,
        levelName: l.levelName,
        letterDate: l.letterDate,
        deadline: l.deadline,
        interest: l.interest,
        fees: l.fees,
      })),
    ).toEqual(expected);
    expect(expected[1]?.interest).toBe(27_055);
    for (const [i, letter] of letters.entries()) {
      const want = expected[i]!;
      expect(letter.totalDue).toBe(7_500_000 + want.interest + want.fees);
      expect(letter.flatFee).toBe(0);
      expect(letter.status).toBe('sent');
      expect(letter.deliveredVia).toBe('outbox_only');
      expect(letter.paymentUrl).toBe(`https://invoice.stripe.test/i/${invoiceId}`);
      const text = String(letter.text);
      expect(text).toContain(`Gesamtbetrag von ${formatEuro(7_500_000 + want.interest + want.fees)}`);
      expect(text).toContain('Bitte ignorieren Sie dieses Schreiben, falls Sie bereits bezahlt haben.');
      if (want.interest > 0) expect(text).toContain(formatEuro(want.interest));
    }
    expect(String(letters[3]?.text)).toContain('Dies ist unsere letzte Mahnung.');

    // The claim today (the decision day): interest to 19 Mar, all four letters' fees.
    expect(c.claim.interest.total).toBe(expectedInterest(7_500_000, 627, 63));
    expect(c.claim.fees).toEqual([
      { label: 'Mahngebühr 1. Mahnung', amount: 150 },
      { label: 'Mahngebühr 2. Mahnung', amount: 150 },
      { label: 'Mahngebühr Letzte Mahnung', amount: 250 },
    ]);
    expect(c.totalClaim).toBe(7_500_000 + expectedInterest(7_500_000, 627, 63) + 550);
    expect(c.nextAction).toMatchObject({ action: 'await_decision', reason: 'ladder_complete' });
    expect(c.audit.map((e: { action: string }) => e.action)).toEqual([
      'opened',
      'letter_queued',
      'letter_sent',
      'letter_queued',
      'letter_sent',
      'letter_queued',
      'letter_sent',
      'letter_queued',
      'letter_sent',
      'awaiting_decision',
    ]);

    // Nothing more goes out while the case waits for a human.
    expect((await runOn('2026-04-30' as BusinessDate)).lettersQueued).toBe(0);

    // The letter is readable as a PDF with the umlauts in WinAnsi.
    const pdf = await t.app.inject({ url: String(letters[1]?.pdfUrl), headers: a.auth });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    expect(pdf.rawPayload.toString('latin1')).toContain('(Mit freundlichen Gr\xfc\xdfen) Tj');
    const other = await t.app.inject({ url: String(letters[1]?.pdfUrl), headers: b.auth });
    expect(other.statusCode).toBe(404);
  });

  it('charges a business buyer 9 points over the base rate per half-year and the € 40 flat fee once', async () => {
    const buyer = await insertBuyer(t, a.id, 'business');
    const due = '2025-06-10' as BusinessDate;
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 7_500_000,
      dueDate: due,
    });
    for (const day of days('2025-06-11' as BusinessDate, '2025-07-29' as BusinessDate)) await runOn(day);

    const c = await caseOf(invoiceId);
    const letters = c.letters as Array<Record<string, unknown>>;
    expect(letters.map((l) => l.letterDate)).toEqual([
      '2025-06-17',
      '2025-07-01',
      '2025-07-15',
      '2025-07-29',
    ]);
    // 11 Jun – 30 Jun at 2.27 % + 9 = 11.27 %; from 1 Jul at 1.27 % + 9 = 10.27 %.
    const firstHalf = expectedInterest(7_500_000, 1127, 20);
    const interestOn = (julyDays: number) => firstHalf + expectedInterest(7_500_000, 1027, julyDays);
    expect(letters.map((l) => l.interest)).toEqual([0, interestOn(1), interestOn(15), interestOn(29)]);
    expect(letters.map((l) => l.fees)).toEqual([0, 0, 0, 0]);
    for (const l of letters) {
      expect(l.flatFee).toBe(4000);
      expect(l.totalDue).toBe(7_500_000 + Number(l.interest) + 4000);
      expect(String(l.text)).toContain('Verzugspauschale (§ 288 Abs. 5 BGB)');
      expect(String(l.text)).toContain('Sehr geehrte Damen und Herren,');
    }
    const periods = (letters[3]!.items as Array<{ label: string; amount: number }>).filter((i) =>
      i.label.startsWith('Verzugszinsen'),
    );
    expect(periods.map((p) => p.amount)).toEqual([firstHalf, expectedInterest(7_500_000, 1027, 29)]);
    expect(c.claim.flatFee).toBe(4000);
    expect(c.flatFee).toBe(4000);
  });

  it('after a 10-day outage catches up one level per run, none skipped, none twice', async () => {
    const buyer = await insertBuyer(t, b.id, 'consumer', 'Jonas Beispiel');
    const due = '2026-01-15' as BusinessDate;
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: b.id,
      buyerId: buyer,
      amount: 1_250_000,
      dueDate: due,
    });
    // A second invoice whose first two letters both fall due during a long outage.
    const late = await insertOpenInvoice(t, {
      dealerId: b.id,
      buyerId: buyer,
      amount: 300_000,
      dueDate: due,
    });

    const sentOn: Record<string, string[]> = { [invoiceId]: [], [late]: [] };
    const record = async (day: BusinessDate) => {
      await runOn(day);
      for (const id of [invoiceId, late]) {
        const c = await caseOf(id, b.auth);
        sentOn[id] = (c?.letters ?? []).map((l: { letterDate: string }) => l.letterDate);
      }
    };
    for (const day of days('2026-01-16' as BusinessDate, '2026-02-04' as BusinessDate)) await runOn(day);
    // The scheduler is down from 5 to 14 February; the first run after it, twice on the same day.
    await record('2026-02-15' as BusinessDate);
    await record('2026-02-15' as BusinessDate);
    expect(sentOn[invoiceId]).toEqual(['2026-01-22', '2026-02-15']);
    for (const day of days('2026-02-16' as BusinessDate, '2026-03-20' as BusinessDate)) await runOn(day);
    await record('2026-03-20' as BusinessDate);
    // Level 3 waits the policy's 14-day gap after the late level 2 (1 Mar), level 4 after that (15 Mar).
    expect(sentOn[invoiceId]).toEqual(['2026-01-22', '2026-02-15', '2026-03-01', '2026-03-15']);
    expect(sentOn[late]).toEqual(['2026-01-22', '2026-02-15', '2026-03-01', '2026-03-15']);
  });

  it('a case opened only after a long outage gets the reminder first, then waits for the next level', async () => {
    const buyer = await insertBuyer(t, b.id, 'consumer', 'Paula Spät');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: b.id,
      buyerId: buyer,
      amount: 500_000,
      dueDate: '2026-04-01' as BusinessDate,
    });
    // First run 40 days after the due date: levels 1 and 2 are both "due" by the calendar.
    await runOn('2026-05-11' as BusinessDate);
    await runOn('2026-05-11' as BusinessDate);
    await runOn('2026-05-12' as BusinessDate);
    const c = await caseOf(invoiceId, b.auth);
    expect(c.letters.map((l: { level: number; letterDate: string }) => [l.level, l.letterDate])).toEqual([
      [1, '2026-05-11'],
    ]);
    expect(c.nextAction).toMatchObject({ action: 'send_letter', level: 2, on: '2026-05-25' });
  });

  it('two scheduler runs at once write and send each letter once', async () => {
    const dealer = await t.createDealer('Wohnmobile Parallel');
    const due = '2026-06-01' as BusinessDate;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const buyer = await insertBuyer(t, dealer.id, i % 2 === 0 ? 'consumer' : 'business', `Käufer ${i}`);
      ids.push(
        await insertOpenInvoice(t, {
          dealerId: dealer.id,
          buyerId: buyer,
          amount: 100_000 + i,
          dueDate: due,
        }),
      );
    }
    for (const day of ['2026-06-08', '2026-06-22'] as BusinessDate[]) {
      t.clock.set(berlinStartOfDay(day) + 8 * 3_600_000);
      const results = await Promise.all([
        runDunning(deps, day),
        runDunning(deps, day),
        runDunning(deps, day),
      ]);
      await Promise.all([t.app.outbox.drain(), t.app.outbox.drain()]);
      // Other dealers' cases run too; of this dealer's six, each got its letter from exactly one run.
      expect(results.reduce((n, r) => n + r.lettersQueued, 0)).toBeGreaterThanOrEqual(6);
    }
    for (const id of ids) {
      const c = await caseOf(id, dealer.auth);
      expect(c.letters.map((l: { level: number; status: string }) => [l.level, l.status])).toEqual([
        [1, 'sent'],
        [2, 'sent'],
      ]);
      expect(c.audit.filter((e: { action: string }) => e.action === 'opened')).toHaveLength(1);
      expect(c.audit.filter((e: { action: string }) => e.action === 'letter_queued')).toHaveLength(2);
      expect(c.audit.filter((e: { action: string }) => e.action === 'letter_sent')).toHaveLength(2);
    }
    const queued = await t.database.db.select().from(outbox);
    const keys = queued.map((r) => r.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('never sends a letter for money that arrived between writing and sending', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer', 'Max Zahltgerade');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 200_000,
      dueDate: '2026-07-01' as BusinessDate,
    });
    t.clock.set(berlinStartOfDay('2026-07-08' as BusinessDate) + 8 * 3_600_000);
    await runDunning(deps, '2026-07-08' as BusinessDate);
    // The transfer arrives before the outbox gets to the letter.
    await t.database.db
      .update(invoices)
      .set({ status: 'paid', amountPaid: 200_000, amountRemaining: 0 })
      .where(eq(invoices.id, invoiceId));
    await t.app.outbox.drain();
    let c = await caseOf(invoiceId);
    expect(c.letters.map((l: { status: string }) => l.status)).toEqual(['withdrawn']);
    await runOn('2026-07-09' as BusinessDate);
    c = await caseOf(invoiceId);
    expect(c.status).toBe('closed');
    expect(c.closedReason).toBe('paid');
    const admin = await t.app.inject({ url: '/api/admin/letters?status=withdrawn', headers: t.admin });
    expect(admin.json().data.map((l: { caseId: string }) => l.caseId)).toContain(c.id);
  });

  it('stops for a SEPA payment in flight and goes on where it stood when it fails', async () => {
    const buyer = await insertBuyer(t, a.id, 'consumer', 'Sina Lastschrift');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: a.id,
      buyerId: buyer,
      amount: 90_000,
      dueDate: '2026-08-03' as BusinessDate,
    });
    await t.database.db.update(invoices).set({ paymentProcessing: true }).where(eq(invoices.id, invoiceId));
    for (const day of days('2026-08-04' as BusinessDate, '2026-08-20' as BusinessDate)) await runOn(day);
    let c = await caseOf(invoiceId);
    expect(c.letters).toEqual([]);
    expect(c.nextAction).toMatchObject({ action: 'none', reason: 'payment_processing' });
    await t.database.db.update(invoices).set({ paymentProcessing: false }).where(eq(invoices.id, invoiceId));
    await runOn('2026-08-21' as BusinessDate);
    c = await caseOf(invoiceId);
    expect(c.letters.map((l: { level: number }) => l.level)).toEqual([1]);
  });
});
