import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDunning } from '../../src/dunning/scheduler.ts';
import { dunningLetters } from '../../src/dunning/schema.ts';
import { type BusinessDate, berlinStartOfDay } from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { outbox, outboxRetryDelayMs } from '../../src/platform/outbox.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { depsOf, insertBuyer, insertOpenInvoice } from './service-fixtures.ts';
import {
  attachmentName,
  leaves,
  type MimePart,
  parseMime,
  type ReceivedMail,
  SmtpReceiver,
} from './smtp-receiver.ts';

const SMTP_USER = 'mahnwesen@reisemobile-nord.de';
// Characters that must be percent-encoded in SMTP_URL, so the test also checks the decoding.
const SMTP_PASSWORD = 'Mahn:W€sen/2026@Köln!';
const ARCHIVE = 'archiv@reisemobile-nord.de';
const DUE = '2026-01-15' as BusinessDate;
// Level 1 of the default ladder goes out seven days after the due date.
const LETTER_DAY = '2026-01-22' as BusinessDate;

type Dealer = Awaited<ReturnType<TestApp['createDealer']>>;

interface LetterView {
  id: string;
  caseId: string;
  level: number;
  recipientEmail: string;
  subject: string;
  text: string;
  status: string;
  deliveredVia: string | null;
  creditorPlaceholder: boolean;
}

describe('dunning letters by e-mail (SMTP)', () => {
  const receiver = new SmtpReceiver({ login: { user: SMTP_USER, password: SMTP_PASSWORD } });
  let t: TestApp;
  let deps: ServiceDeps;
  let dealer: Dealer;

  beforeAll(async () => {
    await receiver.listen();
    t = await createTestApp({
      env: {
        SMTP_URL: `smtp://${encodeURIComponent(SMTP_USER)}:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${receiver.port}`,
        SMTP_FROM: '"Reisemobile Nord, Buchhaltung" <mahnwesen@reisemobile-nord.de>',
        SMTP_REPLY_TO: 'Buchhaltung Reisemobile Nord <buchhaltung@reisemobile-nord.de>',
        SMTP_BCC: ARCHIVE,
      },
    });
    deps = depsOf(t);
    t.clock.set(berlinStartOfDay(LETTER_DAY) + 8 * 3_600_000);
    dealer = await t.createDealer('Reisemobile Nord');
    const profile = await t.app.inject({
      method: 'PUT',
      url: '/api/payments/dunning/creditor-profile',
      headers: dealer.auth,
      payload: {
        name: 'Reisemobile Nord GmbH',
        address: 'Am Hafen 3\n24103 Kiel',
        iban: 'DE02120300000000202051',
        bic: 'BYLADEM1001',
        bankName: 'Deutsche Kreditbank',
      },
    });
    expect(profile.statusCode).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  /** A consumer's overdue invoice and the scheduler's run on the letter day; returns the buyer's address. */
  async function overdueInvoiceWithLetter(owner: Dealer = dealer): Promise<string> {
    const buyerId = await insertBuyer(t, owner.id, 'consumer');
    await insertOpenInvoice(t, { dealerId: owner.id, buyerId, amount: 18_450_000, dueDate: DUE });
    const run = await runDunning(deps, LETTER_DAY);
    expect(run.lettersQueued).toBe(1);
    return `${buyerId}@example.de`;
  }

  /** The letter to a buyer as the admin sees it at GET /api/admin/letters. */
  async function letterTo(email: string): Promise<LetterView> {
    const res = await t.app.inject({ url: '/api/admin/letters?limit=100', headers: t.admin });
    expect(res.statusCode).toBe(200);
    const letter = (res.json().data as LetterView[]).find((l) => l.recipientEmail === email);
    if (!letter) throw new Error(`no letter to ${email}`);
    return letter;
  }

  async function outboxRowOf(letter: LetterView) {
    const [row] = await t.database.db
      .select()
      .from(outbox)
      .where(eq(outbox.dedupeKey, `dunning-letter:${letter.caseId}:${letter.level}`));
    if (!row) throw new Error('no outbox row');
    return row;
  }

  const mailsTo = (address: string) =>
    receiver.received.filter((m) => m.envelopeTo.includes(address) && m.raw.includes(`To: ${address}`));
  const messageId = (mail: ReceivedMail) => parseMime(mail.raw).headers.get('message-id');

  it('e-mails the Zahlungserinnerung to the buyer: German subject, text and HTML, the PDF, archive copy blind', async () => {
    const buyer = await overdueInvoiceWithLetter();
    await t.app.outbox.drain();

    const letter = await letterTo(buyer);
    expect(letter).toMatchObject({
      level: 1,
      status: 'sent',
      deliveredVia: 'smtp',
      creditorPlaceholder: false,
    });
    const [row] = await t.database.db.select().from(dunningLetters).where(eq(dunningLetters.id, letter.id));

    expect(receiver.received).toHaveLength(1);
    const mail = receiver.received[0]!;
    expect(mail.login).toEqual({ user: SMTP_USER, password: SMTP_PASSWORD });
    expect(mail.envelopeFrom).toBe('mahnwesen@reisemobile-nord.de');
    // One message for the buyer and the archive; the buyer must not see the archive address.
    expect(mail.envelopeTo.sort()).toEqual([ARCHIVE, buyer].sort());
    expect(mail.raw).not.toContain(ARCHIVE);

    const message = parseMime(mail.raw);
    expect(message.headers.get('to')).toBe(buyer);
    expect(message.headers.get('from')).toBe(
      '"Reisemobile Nord, Buchhaltung" <mahnwesen@reisemobile-nord.de>',
    );
    expect(message.headers.get('reply-to')).toBe(
      'Buchhaltung Reisemobile Nord <buchhaltung@reisemobile-nord.de>',
    );
    expect(message.headers.get('subject')).toBe(letter.subject);
    expect(letter.subject).toMatch(/^Zahlungserinnerung – Rechnung Nr\. MORTEST-\d{4} vom 01\.01\.2026$/);
    expect(message.headers.get('message-id')).toMatch(
      new RegExp(`^<dunning-letter\\.${letter.caseId}\\.1\\.[0-9a-f]{16}@reisemobile-nord\\.de>$`),
    );
    expect(message.headers.get('auto-submitted')).toBe('auto-generated');

    const parts = leaves(message);
    const body = (type: string) => {
      const part = parts.find((p: MimePart) => p.contentType === type && !attachmentName(p));
      return part?.body.toString('utf8').replace(/\r\n/g, '\n');
    };
    expect(body('text/plain')).toBe(letter.text);
    expect(letter.text).toContain('Gesamtbetrag von 184.500,00 €');
    expect(letter.text).toContain('DE02 1203 0000 0000 2020 51');
    expect(body('text/html')).toBe(row?.bodyHtml.replace(/\r\n/g, '\n'));

    const pdfs = parts.filter((p) => attachmentName(p));
    expect(pdfs).toHaveLength(1);
    expect(pdfs[0]!.contentType).toBe('application/pdf');
    const invoiceNumber = /Rechnung Nr\. (\S+) vom/.exec(letter.subject)?.[1];
    expect(attachmentName(pdfs[0]!)).toBe(`Mahnung-${invoiceNumber}-1.pdf`);
    expect(pdfs[0]!.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');

    // The outbox row is done; a second pass sends nothing more.
    expect((await outboxRowOf(letter)).status).toBe('sent');
    await t.app.outbox.drain();
    expect(receiver.received).toHaveLength(1);
  });

  it('a message the server refuses (550) stays in the outbox; after the backoff it goes out once, same Message-ID', async () => {
    const refused: ReceivedMail[] = [];
    receiver.behaviour.onData = (m) => {
      if (refused.length > 0) return undefined;
      refused.push(m);
      return '550 5.7.1 Message rejected due to local policy';
    };
    const buyer = await overdueInvoiceWithLetter();
    await t.app.outbox.drain();

    expect(refused).toHaveLength(1);
    expect(mailsTo(buyer)).toHaveLength(0);
    let letter = await letterTo(buyer);
    expect(letter).toMatchObject({ status: 'queued', deliveredVia: null });
    const waiting = await outboxRowOf(letter);
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting.lastError).toContain('550 5.7.1 Message rejected due to local policy');

    // Not before its time: the outbox backs off.
    await t.app.outbox.drain();
    expect(mailsTo(buyer)).toHaveLength(0);

    t.clock.advance(outboxRetryDelayMs(1));
    await t.app.outbox.drain();
    await t.app.outbox.drain();
    await runDunning(deps, LETTER_DAY);
    await t.app.outbox.drain();

    const delivered = mailsTo(buyer);
    expect(delivered).toHaveLength(1);
    expect(messageId(delivered[0]!)).toBe(messageId(refused[0]!));
    letter = await letterTo(buyer);
    expect(letter).toMatchObject({ status: 'sent', deliveredVia: 'smtp' });
    expect(await outboxRowOf(letter)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
    receiver.behaviour.onData = undefined;
  });

  it('with the mail server down the letter waits, and goes out once when it is back', async () => {
    await receiver.close();
    const buyer = await overdueInvoiceWithLetter();
    await t.app.outbox.drain();

    const letter = await letterTo(buyer);
    expect(letter.status).toBe('queued');
    const waiting = await outboxRowOf(letter);
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting.lastError).toMatch(/ECONNECTION|ECONNREFUSED/);

    await receiver.listen();
    t.clock.advance(outboxRetryDelayMs(1));
    await t.app.outbox.drain();
    expect(mailsTo(buyer)).toHaveLength(1);
    expect((await letterTo(buyer)).status).toBe('sent');
  });

  it('the buyer’s address refused while the archive copy is taken: the letter is not counted as sent', async () => {
    let refusals = 0;
    const buyer = await overdueInvoiceWithLetter();
    receiver.behaviour.onRcpt = (address) => {
      if (address !== buyer || refusals > 0) return undefined;
      refusals++;
      return `550 5.1.1 <${buyer}>: Recipient address rejected: mailbox full`;
    };
    const archived = () => receiver.received.filter((m) => m.envelopeTo.includes(ARCHIVE)).length;
    const archivedBefore = archived();
    await t.app.outbox.drain();

    expect(mailsTo(buyer)).toHaveLength(0);
    let letter = await letterTo(buyer);
    expect(letter.status).toBe('queued');
    expect((await outboxRowOf(letter)).lastError).toContain('Recipient address rejected');

    t.clock.advance(outboxRetryDelayMs(1));
    await t.app.outbox.drain();
    expect(mailsTo(buyer)).toHaveLength(1);
    letter = await letterTo(buyer);
    expect(letter).toMatchObject({ status: 'sent', deliveredVia: 'smtp' });
    // The archive got the message twice, recognisably the same one.
    const copies = receiver.received.slice(-2);
    expect(archived() - archivedBefore).toBe(2);
    expect(messageId(copies[0]!)).toBe(messageId(copies[1]!));
    receiver.behaviour.onRcpt = undefined;
  });

  it('a letter of a dealer without creditor data is not e-mailed (placeholder bank account); the admin has it', async () => {
    const other = await t.createDealer('Caravan Süd');
    const before = receiver.received.length;
    const buyer = await overdueInvoiceWithLetter(other);
    await t.app.outbox.drain();

    expect(receiver.received).toHaveLength(before);
    const letter = await letterTo(buyer);
    expect(letter).toMatchObject({ status: 'sent', deliveredVia: 'outbox_only', creditorPlaceholder: true });
    expect(t.logLines.some((l) => l.includes(letter.id) && l.includes('not e-mailed'))).toBe(true);
  });

  it('a refused login leaves the letter waiting, and the SMTP password never reaches a log line', async () => {
    receiver.behaviour.login = { user: SMTP_USER, password: 'rotated-by-the-provider' };
    const buyer = await overdueInvoiceWithLetter();
    await t.app.outbox.drain();
    const letter = await letterTo(buyer);
    expect(letter.status).toBe('queued');
    const waiting = await outboxRowOf(letter);
    expect(waiting.lastError).toContain('535 5.7.8 Authentication credentials invalid');

    receiver.behaviour.login = { user: SMTP_USER, password: SMTP_PASSWORD };
    t.clock.advance(outboxRetryDelayMs(1));
    await t.app.outbox.drain();
    expect((await letterTo(buyer)).status).toBe('sent');

    // Even an error that quotes the connection string is scrubbed by the app's logger.
    t.app.log.error({ err: new Error(`cannot reach smtp://${SMTP_USER}:${SMTP_PASSWORD}@mail`) }, 'probe');

    const logs = t.logLines.join('\n');
    expect(logs).toContain('535 5.7.8 Authentication credentials invalid');
    expect(logs).toContain('dunning letter e-mailed');
    expect(logs).toContain('probe');
    for (const form of [
      SMTP_PASSWORD,
      encodeURIComponent(SMTP_PASSWORD),
      Buffer.from(`\0${SMTP_USER}\0${SMTP_PASSWORD}`).toString('base64'),
      Buffer.from(SMTP_PASSWORD).toString('base64'),
    ]) {
      expect(logs).not.toContain(form);
    }
    const rows = await t.database.db.select({ lastError: outbox.lastError }).from(outbox);
    expect(rows.some((r) => r.lastError?.includes(SMTP_PASSWORD))).toBe(false);
  });
});
