/**
 * Dunning letters by e-mail. The outbox calls `send` inside the transaction that marks the letter sent,
 * so a throw here rolls that back and the outbox retries with backoff; a crash after the server accepted
 * the message sends it again with the same Message-ID, derived from the outbox dedupe key.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { createTransport } from 'nodemailer';
import type { MailAddress, SmtpConfig } from '../config.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer, MailReceipt, OutgoingLetter } from './mailer.ts';

/** The SMTP server did not take a letter; the outbox keeps it and tries again later. */
export class SmtpDeliveryError extends Error {
  readonly code = 'smtp_delivery_failed';
  constructor(
    message: string,
    /** The SMTP reply code, when the server answered (e.g. 550); absent for a connection failure. */
    readonly responseCode: number | undefined,
  ) {
    super(message);
    this.name = 'SmtpDeliveryError';
  }
}

// The outbox holds a database transaction (on PGlite: the only connection) while a letter is sent, so a
// silent server must not keep it for nodemailer's default minutes.
const CONNECTION_TIMEOUT_MS = 15_000;
const GREETING_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 60_000;

/**
 * The Message-ID of a letter: readable (case and level, to find it in an archive mailbox) and stable
 * across retries, with a hash of the whole key so two keys never share one after the clean-up.
 */
export function letterMessageId(dedupeKey: string, senderAddress: string): string {
  const readable = dedupeKey
    .replace(/[^A-Za-z0-9_-]+/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 120);
  const hash = createHash('sha256').update(dedupeKey).digest('hex').slice(0, 16);
  const sender = comparable(senderAddress);
  const domain = sender.slice(sender.lastIndexOf('@') + 1);
  return `<${readable}.${hash}@${domain}>`;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

// nodemailer reports an Umlaut domain in its punycode form.
function comparable(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${domainToASCII(address.slice(at + 1)) || address.slice(at + 1)}`.toLowerCase();
}

function mailbox(m: MailAddress): string | { name: string; address: string } {
  return m.name ? { name: m.name, address: m.address } : m.address;
}

/** Sends letters through the configured SMTP server, one connection per letter. */
export class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(
    private readonly config: SmtpConfig,
    private readonly log: Logger,
  ) {
    this.transport = createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      // A password must not cross a network in clear text, even if a STARTTLS offer is stripped on the way.
      requireTLS: !config.secure && config.user !== undefined && !isLoopback(config.host),
      ...(config.user !== undefined ? { auth: { user: config.user, pass: config.password } } : {}),
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: GREETING_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      logger: false,
      debug: false,
    });
  }

  async send(letter: OutgoingLetter): Promise<MailReceipt> {
    if (letter.creditorPlaceholder) {
      this.log.warn(
        { letterId: letter.letterId },
        'dunning letter not e-mailed: the dealer has no creditor data yet; it stays in the admin outbox',
      );
      return { deliveredVia: 'outbox_only' };
    }
    const messageId = letterMessageId(letter.dedupeKey, this.config.from.address);
    const info = await this.transport
      .sendMail({
        from: mailbox(this.config.from),
        to: letter.to,
        ...(this.config.replyTo ? { replyTo: mailbox(this.config.replyTo) } : {}),
        ...(this.config.bcc.length > 0 ? { bcc: this.config.bcc } : {}),
        subject: letter.subject,
        text: letter.text,
        html: letter.html,
        attachments: [{ filename: letter.pdfFilename, content: letter.pdf, contentType: 'application/pdf' }],
        messageId,
        // RFC 3834: keeps out-of-office replies away; a buyer's own reply still reaches Reply-To.
        headers: { 'Auto-Submitted': 'auto-generated' },
      })
      .catch((err: Error & { code?: string; responseCode?: number }) => {
        // Our own error, not nodemailer's: it is logged and stored as the outbox row's last error, and
        // should say what a clerk needs (the server's answer) and nothing of the connection settings.
        throw new SmtpDeliveryError(
          `SMTP delivery of letter ${letter.letterId} failed (${err.code ?? 'error'}): ${err.message}`,
          err.responseCode,
        );
      });
    // With an archive copy in Bcc the server may take the message for the archive and refuse the buyer:
    // that is not a delivered letter.
    const accepted = info.accepted.map((a) => comparable(String(a)));
    if (!accepted.includes(comparable(letter.to))) {
      const answer = info.rejectedErrors?.map((e) => e.response ?? e.message).join('; ');
      throw new SmtpDeliveryError(
        `SMTP server refused the recipient of letter ${letter.letterId}: ${answer || 'no answer'}`,
        info.rejectedErrors?.[0]?.responseCode,
      );
    }
    this.log.info(
      { letterId: letter.letterId, messageId, smtpResponse: info.response },
      'dunning letter e-mailed',
    );
    return { deliveredVia: 'smtp' };
  }
}
