/**
 * How letters leave the service. With SMTP configured (SMTP_URL, see config.ts) the app uses
 * `SmtpMailer` (smtp-mailer.ts); without it `OutboxOnlyMailer`: letters are kept as rows the admin reads
 * at GET /api/admin/letters and prints or forwards from the PDF. Either way the letter row is the record;
 * the outbox delivers at-least-once, with `dedupeKey` as the stable Message-ID.
 */

/** A letter ready to go out. */
export interface OutgoingLetter {
  letterId: string;
  /** Stable per (case, level): use it as Message-ID so a repeated delivery can be recognised. */
  dedupeKey: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  pdf: Buffer;
  pdfFilename: string;
  /**
   * The letter prints placeholder creditor data (no bank account of the dealer's yet): a mailer must not
   * send it to the buyer, who would be asked to pay into an account that is not the dealer's.
   */
  creditorPlaceholder: boolean;
}

/** What happened to a letter. */
export interface MailReceipt {
  /** How it went out: `smtp`, or `outbox_only` (filed for the admin, not e-mailed). */
  deliveredVia: string;
}

/** Sends one letter; throws to have the outbox retry later. */
export interface Mailer {
  send(letter: OutgoingLetter): Promise<MailReceipt>;
}

/** Keeps letters in the service only: the letter row is the record, nothing leaves by e-mail. */
export class OutboxOnlyMailer implements Mailer {
  async send(_letter: OutgoingLetter): Promise<MailReceipt> {
    return { deliveredVia: 'outbox_only' };
  }
}
