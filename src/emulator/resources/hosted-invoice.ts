/**
 * The hosted invoice page (`hosted_invoice_url`, HTML in German) and `invoice_pdf` (a one-page PDF
 * written by hand: Helvetica text, no dependencies). Both are public, like Stripe's, and show the
 * invoice as it is now (status, amount due, due date, the virtual IBAN for bank transfer).
 */
import { errors } from '../errors.ts';
import { type EmulatorContext, RawResponse, type ResourceModule, route } from '../resource.ts';
import { INVOICE, type Invoice } from './billing-internal.ts';
import { virtualIban } from './cash-balance.ts';

const STATUS_DE: Record<string, string> = {
  draft: 'Entwurf',
  open: 'Offen',
  paid: 'Bezahlt',
  uncollectible: 'Uneinbringlich',
  void: 'Storniert',
};

function euro(cents: number, currency: string): string {
  const value = (cents / 100).toLocaleString('de-DE', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency === 'eur' ? `${value} €` : `${value} ${currency.toUpperCase()}`;
}

function date(unix: number | null): string {
  if (unix === null) return '–';
  return new Date(unix * 1000).toLocaleDateString('de-DE', { timeZone: 'Europe/Berlin' });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The facts both renderings show, as label/value rows. */
function rows(inv: Invoice): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['Rechnungsnummer', inv.number ?? '–'],
    ['Status', STATUS_DE[inv.status ?? ''] ?? String(inv.status)],
    ['Rechnungsdatum', date(inv.effective_at ?? inv.created)],
    ['Fällig am', date(inv.due_date)],
    ['Kunde', inv.customer_name ?? inv.customer_email ?? String(inv.customer)],
    ['Gesamtbetrag', euro(inv.total, inv.currency)],
    ['Bezahlt', euro(inv.amount_paid, inv.currency)],
    ['Offener Betrag', euro(inv.amount_remaining, inv.currency)],
  ];
  if (inv.payment_settings.payment_method_types?.includes('customer_balance') && inv.status === 'open') {
    const { iban, bic } = virtualIban(inv.customer as string);
    out.push(
      ['Überweisung an IBAN', iban.replace(/(.{4})/g, '$1 ').trim()],
      ['BIC', bic],
      ['Verwendungszweck', inv.number ?? inv.id],
    );
  }
  return out;
}

function findInvoice(ctx: EmulatorContext, id: string): Invoice {
  const inv = ctx.store.collection<Invoice>(INVOICE).get(id);
  if (!inv || (inv as { deleted?: boolean }).deleted || inv.status === 'draft') {
    throw errors.resourceMissing('invoice', id);
  }
  return inv;
}

function html(inv: Invoice): string {
  const lines = inv.lines.data
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.description ?? 'Position')}</td><td>${l.quantity ?? 1}</td><td class="r">${euro(l.amount, l.currency)}</td></tr>`,
    )
    .join('');
  const facts = rows(inv)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Rechnung ${escapeHtml(inv.number ?? inv.id)}</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}th{text-align:left;padding-right:1rem}.r{text-align:right}table{border-collapse:collapse;margin:1rem 0}td,th{padding:.2rem .5rem}</style>
</head><body>
<h1>Rechnung ${escapeHtml(inv.number ?? '')}</h1>
<p data-status="${escapeHtml(String(inv.status))}">${escapeHtml(inv.description ?? '')}</p>
<table class="facts">${facts}</table>
<table class="lines"><tr><th>Beschreibung</th><th>Menge</th><th class="r">Betrag</th></tr>${lines}</table>
${inv.footer ? `<footer>${escapeHtml(inv.footer)}</footer>` : ''}
<p><a href="/i/${inv.id}/pdf">Rechnung als PDF herunterladen</a></p>
</body></html>`;
}

/** PDF strings: Latin-1 (WinAnsi) with the three special characters escaped. */
function pdfText(s: string): string {
  return s
    .replace(/€/g, 'EUR')
    .replace(/[^\x20-\x7e\xa0-\xff]/g, '?')
    .replace(/[\\()]/g, (c) => `\\${c}`);
}

/** A minimal single-page PDF 1.4 with correct xref offsets. */
export function renderPdf(title: string, textLines: string[]): Buffer {
  const content = [
    'BT',
    '/F1 16 Tf',
    '50 790 Td',
    `(${pdfText(title)}) Tj`,
    '/F1 11 Tf',
    '0 -28 Td',
    ...textLines.flatMap((l) => [`(${pdfText(l)}) Tj`, '0 -16 Td']),
    'ET',
  ].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
  ];
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

export const hostedInvoice: ResourceModule = {
  name: 'hosted_invoice',
  routes: [
    route({
      method: 'GET',
      path: '/i/:id',
      params: {},
      public: true,
      handler(ctx) {
        return new RawResponse('text/html; charset=utf-8', html(findInvoice(ctx, ctx.path.id!)));
      },
    }),
    route({
      method: 'GET',
      path: '/i/:id/pdf',
      params: {},
      public: true,
      handler(ctx) {
        const inv = findInvoice(ctx, ctx.path.id!);
        const lines = [
          ...rows(inv).map(([k, v]) => `${k}: ${v}`),
          '',
          ...inv.lines.data.map((l) => `${l.description ?? 'Position'}  ${euro(l.amount, l.currency)}`),
        ];
        return new RawResponse('application/pdf', renderPdf(`Rechnung ${inv.number ?? inv.id}`, lines));
      },
    }),
  ],
};
