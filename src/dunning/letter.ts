/**
 * The German text of a dunning letter: subject, plain text and simple HTML, with every item the
 * law asks for (GERMAN-LAW.md "Content"). Pure: the caller supplies interest, fees and deadline;
 * turning this into PDF or e-mail happens elsewhere.
 *
 * Interest is printed only on levels whose policy says `chargesInterest` (the friendly reminder
 * stays friendly); the flat fee is printed whenever the caller passes it — it is one fee per claim,
 * so every letter repeats the same € 40, it never adds up.
 */
import { Decimal } from 'decimal.js';
import { addDays, type BusinessDate, compareDates, formatGermanDate } from '../platform/dates.ts';
import { type Cents, cents, formatEuro, sumCents } from '../platform/money.ts';
import { InvalidDunningInputError } from './errors.ts';
import { type DebtorType, type DefaultInterest, INTEREST_MARGIN_POINTS } from './interest.ts';
import {
  type Charge,
  type DunningLevel,
  type DunningPolicy,
  LOAN_CALL_WARNING_DAYS,
  levelOf,
} from './policy.ts';

/** The dealer (or MORELO) as creditor, with the account the buyer pays to. */
export interface LetterCreditor {
  name: string;
  /** Postal address, one line per line. */
  address: string;
  vatId?: string;
  iban: string;
  bic: string;
  bankName: string;
}

/** The buyer. */
export interface LetterDebtor {
  name: string;
  /** Postal address, one line per line. */
  address: string;
  type: DebtorType;
}

/** The invoice being dunned. */
export interface LetterInvoice {
  number: string;
  issueDate: BusinessDate;
  dueDate: BusinessDate;
  amount: Cents;
  openAmount: Cents;
  vehicle?: { model: string; vin?: string };
}

/** Input of `renderDunningLetter`. */
export interface DunningLetterInput {
  level: number;
  policy: DunningPolicy;
  creditor: LetterCreditor;
  debtor: LetterDebtor;
  invoice: LetterInvoice;
  /** Default interest up to the letter date (see `calculateDefaultInterest`). */
  interest: DefaultInterest;
  /** Dunning fees to claim, usually `feesUpToLevel(policy, level)`. */
  fees: readonly Charge[];
  /** The € 40 Verzugspauschale; business debtors only. */
  flatFee?: Cents;
  /** The new payment deadline, usually `paymentDeadline(level, today)`. */
  deadline: BusinessDate;
  paymentLinkUrl?: string;
  /**
   * The last letter of a financing instalment whose § 498 BGB grounds hold today: it warns that the whole
   * loan will be called unless the plan's arrears (all overdue instalments, not only this invoice) are
   * paid within the deadline, which must give at least two weeks.
   */
  loanCallWarning?: { arrears: Cents };
  /**
   * Bank-transfer money of the buyer that arrived but is matched to no invoice yet. The letter says so, and
   * that it will be set off, so a buyer who has sent money is not left wondering; the amounts stay as claimed.
   * `onlyClaim`: this is the buyer's only open claim, so the letter asks for the total less the money (when
   * that leaves something); with several claims it is set off against them together and nothing is deducted.
   */
  unappliedTransfer?: { amount: Cents; onlyClaim: boolean };
  /** The letter's date. */
  today: BusinessDate;
}

/** One line of the itemised statement; `amount` is negative for a credit. */
export interface LetterItem {
  label: string;
  amount: number;
}

/** A rendered letter. */
export interface DunningLetter {
  subject: string;
  text: string;
  html: string;
  /** Everything itemised, for a PDF renderer that lays out its own table. */
  items: LetterItem[];
  totalDue: Cents;
}

/** Renders the letter of one level in German; throws InvalidDunningInputError on contradictory input. */
export function renderDunningLetter(input: DunningLetterInput): DunningLetter {
  const { policy, creditor, debtor, invoice, deadline, today } = input;
  const level = levelOf(policy, input.level);
  validate(input, level);
  const isLast = input.level === policy.levels.length;
  const levelName = level.name;

  const items = statement(input, level.chargesInterest);
  const totalDue = sumCents(items.map((i) => i.amount));
  const beyondTable = level.chargesInterest && input.interest.periods.some((p) => p.beyondTable);
  const paymentLink = input.paymentLinkUrl ? safeUrl(input.paymentLinkUrl) : undefined;

  const subject = oneLine(
    `${levelName} – Rechnung Nr. ${invoice.number} vom ${formatGermanDate(invoice.issueDate)}`,
  );
  const salutation =
    debtor.type === 'business' ? 'Sehr geehrte Damen und Herren,' : `Guten Tag ${debtor.name},`;
  const paragraphs = bodyParagraphs(input, isLast, totalDue);
  const received = input.unappliedTransfer?.amount ?? 0;
  // Deducted only where it is unambiguous: the buyer's one open claim, and less than it.
  const deducted = input.unappliedTransfer?.onlyClaim && received < totalDue ? received : 0;
  if (received > 0) {
    paragraphs.push(
      `Bei uns ist eine Überweisung über ${formatEuro(received)} eingegangen, die wir noch keiner Rechnung zuordnen konnten. Sie ist in der Aufstellung unten noch nicht berücksichtigt; wir verrechnen sie mit ${input.unappliedTransfer?.onlyClaim ? 'dieser Forderung' : 'Ihren offenen Forderungen'}. Bitte geben Sie bei Überweisungen als Verwendungszweck „Rechnung ${invoice.number}“ an.`,
    );
  }

  const facts: [string, string][] = [
    ['Rechnung Nr.', invoice.number],
    ['Rechnungsdatum', formatGermanDate(invoice.issueDate)],
    ['Fällig am', formatGermanDate(invoice.dueDate)],
    ['Rechnungsbetrag', formatEuro(invoice.amount)],
  ];
  if (invoice.openAmount < invoice.amount) {
    facts.push(['Bereits gezahlt', formatEuro(invoice.amount - invoice.openAmount)]);
  }
  if (invoice.vehicle) {
    const vin = invoice.vehicle.vin ? `, FIN ${invoice.vehicle.vin}` : '';
    facts.push(['Fahrzeug', `${invoice.vehicle.model}${vin}`]);
  }
  facts.push(['Mahnstufe', `${input.level} von ${policy.levels.length} (${levelName})`]);

  const bank: [string, string][] = [
    ['Kontoinhaber', creditor.name],
    ['IBAN', formatIban(creditor.iban)],
    ['BIC', creditor.bic],
    ['Bank', creditor.bankName],
    ['Verwendungszweck', `Rechnung ${invoice.number}`],
  ];
  const interestNote = interestExplanation(input, level.chargesInterest);
  const footnote = beyondTable
    ? '* Der Basiszinssatz für diesen Zeitraum lag bei Erstellung noch nicht vor; berechnet wurde mit dem zuletzt veröffentlichten Satz.'
    : undefined;
  const ignoreIfPaid = 'Bitte ignorieren Sie dieses Schreiben, falls Sie bereits bezahlt haben.';
  const creditorLines = [creditor.name, ...lines(creditor.address)];
  if (creditor.vatId) creditorLines.push(`USt-IdNr.: ${creditor.vatId}`);
  const debtorLines = [debtor.name, ...lines(debtor.address)];
  const dateLine = `Datum: ${formatGermanDate(today)}`;
  const deadlineLine =
    deducted > 0
      ? `Bitte überweisen Sie den Gesamtbetrag von ${formatEuro(totalDue)} abzüglich der eingegangenen ${formatEuro(deducted)}, also ${formatEuro(cents(totalDue - deducted))}, bis spätestens ${formatGermanDate(deadline)}.`
      : `Bitte überweisen Sie den Gesamtbetrag von ${formatEuro(totalDue)} bis spätestens ${formatGermanDate(deadline)}.`;

  const text = [
    creditorLines.join('\n'),
    debtorLines.join('\n'),
    dateLine,
    subject,
    salutation,
    ...paragraphs,
    aligned(facts),
    `Aufstellung\n${amountTable([...items, { label: 'Gesamtbetrag', amount: totalDue }])}`,
    ...(interestNote ? [interestNote] : []),
    deadlineLine,
    [
      'So bezahlen Sie:',
      ...(paymentLink ? [`Online: ${paymentLink}`] : []),
      'Per Überweisung:',
      aligned(bank, true),
    ].join('\n'),
    ...(footnote ? [footnote] : []),
    ignoreIfPaid,
    `Mit freundlichen Grüßen\n${creditor.name}`,
  ].join('\n\n');

  const e = escapeHtml;
  const row = ([k, v]: [string, string]): string => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`;
  const itemRow = (i: LetterItem): string =>
    `<tr><td>${e(i.label)}</td><td align="right">${e(formatEuro(i.amount))}</td></tr>`;
  const html = [
    '<!doctype html>',
    `<html lang="de"><head><meta charset="utf-8"><title>${e(subject)}</title></head><body>`,
    `<p>${creditorLines.map(e).join('<br>')}</p>`,
    `<p>${debtorLines.map(e).join('<br>')}</p>`,
    `<p>${e(dateLine)}</p>`,
    `<h1>${e(subject)}</h1>`,
    `<p>${e(salutation)}</p>`,
    ...paragraphs.map((p) => `<p>${e(p)}</p>`),
    `<table>${facts.map(row).join('')}</table>`,
    '<h2>Aufstellung</h2>',
    `<table>${items.map(itemRow).join('')}`,
    `<tr><th align="left">Gesamtbetrag</th><th align="right">${e(formatEuro(totalDue))}</th></tr></table>`,
    ...(interestNote ? [`<p><small>${e(interestNote)}</small></p>`] : []),
    `<p><strong>${e(deadlineLine)}</strong></p>`,
    '<h2>So bezahlen Sie</h2>',
    ...(paymentLink ? [`<p>Online: <a href="${e(paymentLink)}">${e(paymentLink)}</a></p>`] : []),
    `<p>Per Überweisung:</p><table>${bank.map(row).join('')}</table>`,
    ...(footnote ? [`<p><small>${e(footnote)}</small></p>`] : []),
    `<p>${e(ignoreIfPaid)}</p>`,
    `<p>Mit freundlichen Grüßen<br>${e(creditor.name)}</p>`,
    '</body></html>',
  ].join('\n');

  return { subject, text, html, items, totalDue };
}

function validate(input: DunningLetterInput, level: DunningLevel | undefined): asserts level is DunningLevel {
  const issues: { path: string; message: string }[] = [];
  if (!level) issues.push({ path: 'level', message: `the policy has no level ${input.level}` });
  if (input.debtor.type !== input.policy.debtorType) {
    issues.push({ path: 'debtor.type', message: `the policy is for ${input.policy.debtorType} debtors` });
  }
  if (compareDates(input.deadline, input.today) <= 0) {
    issues.push({ path: 'deadline', message: 'the new deadline must lie after the letter date' });
  }
  const { amount, openAmount } = input.invoice;
  if (!Number.isSafeInteger(openAmount) || openAmount <= 0 || openAmount > amount) {
    issues.push({
      path: 'invoice.openAmount',
      message: 'must be whole cents, above zero, at most the invoice amount',
    });
  }
  if (input.flatFee && input.debtor.type !== 'business') {
    issues.push({
      path: 'flatFee',
      message: '§ 288 Abs. 5 BGB: the flat fee is owed by business debtors only',
    });
  }
  if (!isValidIban(input.creditor.iban)) {
    issues.push({ path: 'creditor.iban', message: 'not a valid IBAN (checksum)' });
  }
  if (input.loanCallWarning) {
    if (input.level !== input.policy.levels.length) {
      issues.push({ path: 'loanCallWarning', message: 'only the last letter warns that the loan is called' });
    }
    if (compareDates(input.deadline, addDays(input.today, LOAN_CALL_WARNING_DAYS)) < 0) {
      issues.push({
        path: 'deadline',
        message: `§ 498 BGB: the warning must give at least ${LOAN_CALL_WARNING_DAYS} days`,
      });
    }
    if (!Number.isSafeInteger(input.loanCallWarning.arrears) || input.loanCallWarning.arrears <= 0) {
      issues.push({ path: 'loanCallWarning.arrears', message: 'must be whole cents above zero' });
    }
  }
  if (
    input.unappliedTransfer !== undefined &&
    (!Number.isSafeInteger(input.unappliedTransfer.amount) || input.unappliedTransfer.amount < 0)
  ) {
    issues.push({ path: 'unappliedTransfer', message: 'must be whole cents, not negative' });
  }
  if (input.paymentLinkUrl !== undefined && safeUrl(input.paymentLinkUrl) === undefined) {
    issues.push({ path: 'paymentLinkUrl', message: 'must be an http(s) URL' });
  }
  if (issues.length > 0) throw new InvalidDunningInputError('cannot render the dunning letter', issues);
}

function statement(input: DunningLetterInput, chargesInterest: boolean): LetterItem[] {
  const items: LetterItem[] = [{ label: 'Offener Rechnungsbetrag', amount: input.invoice.openAmount }];
  if (chargesInterest) {
    for (const p of input.interest.periods) {
      items.push({
        label:
          `Verzugszinsen ${formatGermanDate(p.from)}–${formatGermanDate(p.to)} ` +
          `(${p.days} Tage, ${percent(p.ratePercent)} p. a.)${p.beyondTable ? ' *' : ''}`,
        amount: p.amount,
      });
    }
  }
  for (const fee of input.fees) items.push({ label: fee.label, amount: fee.amount });
  const feeTotal = sumCents(input.fees.map((f) => f.amount));
  if (input.flatFee && input.flatFee > 0) {
    items.push({ label: 'Verzugspauschale (§ 288 Abs. 5 BGB)', amount: input.flatFee });
    // § 288 Abs. 5 S. 3 BGB: the flat fee is credited against costs of pursuing the claim, so
    // dunning fees are only owed where they exceed it.
    const credit = Math.min(feeTotal, input.flatFee);
    if (credit > 0) {
      items.push({
        label: 'Anrechnung der Mahngebühren auf die Pauschale (§ 288 Abs. 5 S. 3 BGB)',
        amount: -credit,
      });
    }
  }
  return items;
}

function bodyParagraphs(input: DunningLetterInput, isLast: boolean, totalDue: Cents): string[] {
  const { invoice, policy } = input;
  const ref = `unsere Rechnung Nr. ${invoice.number} vom ${formatGermanDate(invoice.issueDate)} über ${formatEuro(invoice.amount)}`;
  const due = formatGermanDate(invoice.dueDate);
  const deadline = formatGermanDate(input.deadline);
  if (input.level === 1 && !isLast) {
    return [
      `${ref} war am ${due} zur Zahlung fällig. Einen vollständigen Zahlungseingang konnten wir bis heute nicht feststellen – vielleicht ist die Zahlung im Alltag untergegangen.`,
      `Wir bitten Sie, den offenen Betrag bis zum ${deadline} zu begleichen.`,
    ];
  }
  // After a comma salutation German goes on in lower case, hence "trotz" and "unsere".
  const opening =
    input.level === 1
      ? `${ref} ist noch nicht vollständig bezahlt.`
      : `trotz unserer bisherigen Schreiben ist ${ref} noch nicht vollständig bezahlt.`;
  const paragraphs = [
    `${opening} Der Betrag war am ${due} fällig; seit dem Folgetag befinden Sie sich im Zahlungsverzug. Wir fordern Sie auf, den unten aufgestellten Gesamtbetrag von ${formatEuro(totalDue)} bis zum ${deadline} zu zahlen.`,
  ];
  if (isLast && input.loanCallWarning) {
    // § 498 Abs. 1 BGB: the deadline for the arrears with the declaration that the whole debt will be
    // demanded otherwise, and (S. 2) the offer to talk about an amicable settlement.
    paragraphs.push(
      `Dies ist unsere letzte Mahnung. Aus Ihrem Finanzierungsvertrag sind derzeit Raten über insgesamt ${formatEuro(input.loanCallWarning.arrears)} rückständig. Gemäß § 498 BGB setzen wir Ihnen eine Frist von zwei Wochen bis zum ${deadline}, diesen rückständigen Betrag zu zahlen. Geht er nicht fristgerecht bei uns ein, werden wir den Darlehensvertrag kündigen und die gesamte Restschuld auf einmal von Ihnen verlangen.`,
      'Gern sprechen wir mit Ihnen über eine einverständliche Regelung, etwa eine Stundung oder angepasste Raten. Bitte melden Sie sich dazu bei uns.',
    );
  } else if (isLast) {
    const steps: string[] = [];
    if (policy.escalation.options.includes('collection'))
      steps.push('die Forderung einem Inkassounternehmen übergeben');
    if (policy.escalation.options.includes('court'))
      steps.push('beim zuständigen Amtsgericht einen Mahnbescheid beantragen');
    paragraphs.push(
      steps.length > 0
        ? `Dies ist unsere letzte Mahnung. Geht der Betrag nicht bis zum ${deadline} bei uns ein, werden wir ohne weitere Ankündigung ${steps.join(' oder ')}. Die dadurch entstehenden Kosten können wir Ihnen als Verzugsschaden in Rechnung stellen.`
        : `Dies ist unsere letzte Mahnung. Bitte nutzen Sie die Frist bis zum ${deadline}.`,
    );
  }
  paragraphs.push('Falls es einen Grund für die ausstehende Zahlung gibt, melden Sie sich bitte bei uns.');
  return paragraphs;
}

function interestExplanation(input: DunningLetterInput, chargesInterest: boolean): string | undefined {
  const periods = input.interest.periods;
  if (!chargesInterest || periods.length === 0) return undefined;
  const type = input.debtor.type;
  const paragraph = type === 'business' ? '§ 288 Abs. 2 BGB' : '§ 288 Abs. 1 BGB';
  const rates = periods
    .map((p) => `${percent(p.baseRatePercent)} vom ${formatGermanDate(p.from)} bis ${formatGermanDate(p.to)}`)
    .join(', ');
  return (
    `Zinssatz: Basiszinssatz nach § 247 BGB (${rates}) zuzüglich ${INTEREST_MARGIN_POINTS[type]} Prozentpunkte ` +
    `(${paragraph}), taggenau berechnet mit 365 Tagen im Jahr.`
  );
}

// Label and amount columns for plain text; the last row is the total, set off by a rule.
function amountTable(rows: readonly LetterItem[]): string {
  const formatted = rows.map((r) => [r.label, formatEuro(r.amount)] as const);
  const labelWidth = Math.max(...formatted.map(([l]) => l.length));
  const amountWidth = Math.max(...formatted.map(([, a]) => a.length));
  const render = ([l, a]: readonly [string, string]): string =>
    `  ${l.padEnd(labelWidth)}  ${a.padStart(amountWidth)}`;
  const body = formatted.slice(0, -1).map(render);
  const rule = `  ${'-'.repeat(labelWidth + 2 + amountWidth)}`;
  return [...body, rule, render(formatted[formatted.length - 1]!)].join('\n');
}

function percent(value: number): string {
  return `${new Decimal(value).toFixed(2).replace('.', ',')} %`;
}

function lines(address: string): string[] {
  return address
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

// A subject ends up in a mail header; a line break there would let data write headers.
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function aligned(rows: readonly (readonly [string, string])[], indent = false): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent ? '  ' : ''}${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// Only http(s) links are printed; a javascript: or data: URL in a letter would be a trap.
function safeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function compactIban(iban: string): string {
  return iban.replace(/\s+/g, '').toUpperCase();
}

/** True if the IBAN's ISO 13616 mod-97 checksum holds. */
export function isValidIban(iban: string): boolean {
  const compact = compactIban(iban);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const digits = /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const d of digits) remainder = (remainder * 10 + Number(d)) % 97;
  }
  return remainder === 1;
}

function formatIban(iban: string): string {
  return compactIban(iban).replace(/(.{4})(?=.)/g, '$1 ');
}
