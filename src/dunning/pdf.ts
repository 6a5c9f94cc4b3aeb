/**
 * A minimal PDF writer for letters: plain text lines in Helvetica with WinAnsiEncoding (so umlauts,
 * ß, § and € print), A4, as many pages as the text needs. Enough for a dunning letter; no layout engine.
 */

const PAGE_WIDTH = 595;
const PAGE_HEIGHT = 842;
const MARGIN_LEFT = 56;
const MARGIN_TOP = 60;
const FONT_SIZE = 10;
const LEADING = 13;
const LINES_PER_PAGE = Math.floor((PAGE_HEIGHT - 2 * MARGIN_TOP) / LEADING);
/** Helvetica 10 pt fits about this many average characters between the margins. */
const MAX_CHARS_PER_LINE = 92;

// The WinAnsi (cp1252) bytes of the characters above Latin-1 that German letters use.
const CP1252: Readonly<Record<string, number>> = {
  '€': 0x80,
  '‚': 0x82,
  '„': 0x84,
  '…': 0x85,
  '‘': 0x91,
  '’': 0x92,
  '“': 0x93,
  '”': 0x94,
  '•': 0x95,
  '–': 0x96,
  '—': 0x97,
};

/** One character as a WinAnsi byte; what Helvetica cannot show becomes '?'. */
function winAnsiByte(ch: string): number {
  const mapped = CP1252[ch];
  if (mapped !== undefined) return mapped;
  const code = ch.codePointAt(0) ?? 0x3f;
  if (code === 0x09) return 0x20;
  if ((code >= 0x20 && code < 0x7f) || (code >= 0xa0 && code <= 0xff)) return code;
  return 0x3f;
}

/** A PDF literal string `( … )` as bytes, with the delimiters escaped. */
function pdfString(text: string): number[] {
  const bytes: number[] = [0x28];
  for (const ch of text) {
    const b = winAnsiByte(ch);
    if (b === 0x28 || b === 0x29 || b === 0x5c) bytes.push(0x5c);
    bytes.push(b);
  }
  bytes.push(0x29);
  return bytes;
}

/** Breaks long lines at spaces (a word longer than a line is cut). */
export function wrapLines(text: string, width = MAX_CHARS_PER_LINE): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    while (line.length > width) {
      let cut = line.lastIndexOf(' ', width);
      if (cut <= 0) cut = width;
      out.push(line.slice(0, cut));
      line = line.slice(cut).replace(/^ +/, '');
      if (line.length > 0) line = `  ${line}`;
    }
    out.push(line);
  }
  return out;
}

/** Renders text as a PDF 1.4 document; `title` goes into the document info. */
export function renderTextPdf(title: string, text: string): Buffer {
  const lines = wrapLines(text);
  const pages: string[][] = [];
  for (let i = 0; i < lines.length; i += LINES_PER_PAGE) pages.push(lines.slice(i, i + LINES_PER_PAGE));
  if (pages.length === 0) pages.push([]);

  // Objects: 1 catalog, 2 pages, 3 font, 4 info, then a page and its content stream per page.
  const objects: number[][] = [];
  const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];
  const pageIds = pages.map((_, i) => 5 + 2 * i);
  objects[1] = ascii('<< /Type /Catalog /Pages 2 0 R >>');
  objects[2] = ascii(
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
  );
  objects[3] = ascii('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  objects[4] = [...ascii('<< /Title '), ...pdfString(title), ...ascii(' /Producer (morelo-payments) >>')];
  pages.forEach((pageLines, i) => {
    const pageId = pageIds[i]!;
    const contentId = pageId + 1;
    const content: number[] = ascii(
      `BT /F1 ${FONT_SIZE} Tf ${LEADING} TL ${MARGIN_LEFT} ${PAGE_HEIGHT - MARGIN_TOP} Td\n`,
    );
    for (const line of pageLines) content.push(...pdfString(line), ...ascii(' Tj T*\n'));
    content.push(...ascii('ET'));
    objects[pageId] = ascii(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentId} 0 R >>`,
    );
    objects[contentId] = [
      ...ascii(`<< /Length ${content.length} >>\nstream\n`),
      ...content,
      ...ascii('\nendstream'),
    ];
  });

  const out: number[] = [...ascii('%PDF-1.4\n'), 0x25, 0xe2, 0xe3, 0xcf, 0xd3, 0x0a];
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = out.length;
    out.push(...ascii(`${id} 0 obj\n`), ...objects[id]!, ...ascii('\nendobj\n'));
  }
  const xrefAt = out.length;
  let xref = `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) xref += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  xref += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 4 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  out.push(...ascii(xref));
  return Buffer.from(out);
}

/**
 * The file name of a letter's PDF, as attachment and download: `Mahnung-<invoice number>-<level>.pdf`, so a
 * buyer's or clerk's downloads folder says which invoice and which letter it is. The number keeps only
 * characters safe in a file name and a Content-Disposition header.
 */
export function letterPdfFilename(invoiceNumber: string, level: number): string {
  const safe = invoiceNumber.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'Rechnung';
  return `Mahnung-${safe}-${level}.pdf`;
}
