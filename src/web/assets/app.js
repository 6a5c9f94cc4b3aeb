/**
 * The dealer dashboard: a thin page over the JSON API (ES2020, no framework, no build step).
 *
 * Two rules hold throughout:
 * - Everything the API returns reaches the page as text (element construction with textContent, never
 *   innerHTML), so a buyer called "<script>…" is shown, not run.
 * - The API key lives in sessionStorage only and travels in the Authorization header to same-origin paths;
 *   it is never put into a URL, never written to the console.
 */

const KEY_STORAGE = 'morelo-payments.apiKey';
const PAGE_SIZE = 20;

// ------------------------------------------------------------------------------------------------- helpers

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Builds an element. Strings become text nodes; `on*` props become listeners; null/undefined/false are skipped.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(2)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * Euro cents as "1.234,56 €", with integer arithmetic only (money never passes through a float fraction).
 * @param {unknown} cents
 */
function euro(cents) {
  if (typeof cents !== 'number' || !Number.isInteger(cents)) return '–';
  const abs = Math.abs(cents);
  const rest = abs % 100;
  const whole = String((abs - rest) / 100).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${cents < 0 ? '-' : ''}${whole},${String(rest).padStart(2, '0')} €`;
}

const BERLIN_DATE = new Intl.DateTimeFormat('de-DE', {
  timeZone: 'Europe/Berlin',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});

/**
 * A business date (YYYY-MM-DD, taken as is: it is already the German calendar day) or an ISO instant (shown
 * as its day in Berlin) as dd.mm.yyyy.
 * @param {unknown} value
 */
function dateDe(value) {
  if (typeof value !== 'string' || value === '') return '–';
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) return `${day[3]}.${day[2]}.${day[1]}`;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? value : BERLIN_DATE.format(instant);
}

/** @param {unknown} value */
const text = (value) => (value === undefined || value === null || value === '' ? '–' : String(value));

/**
 * A label for an API code; an unknown code is shown as it is rather than hidden.
 * @param {Record<string, string>} labels
 * @param {unknown} code
 */
const label = (labels, code) => (typeof code === 'string' ? (labels[code] ?? code) : '–');

const INVOICE_KIND = {
  down_payment: 'Anzahlung',
  remainder: 'Restzahlung',
  other: 'Sonstiges',
  instalment: 'Rate',
  balloon: 'Schlussrate',
  payoff: 'Ablösung',
  refund: 'Erstattung',
  returned_debit: 'Rücklastschrift',
  dispute: 'Rückbuchung (Dispute)',
  fee: 'Gebühr',
};
const INVOICE_STATUS = {
  creating: 'wird angelegt',
  draft: 'Entwurf',
  open: 'offen',
  paid: 'bezahlt',
  void: 'storniert',
  uncollectible: 'uneinbringlich',
};
const PLAN_STATUS = {
  creating: 'wird angelegt',
  awaiting_payment_method: 'wartet auf Zahlungsmittel',
  scheduled: 'geplant',
  active: 'aktiv',
  past_due: 'im Rückstand',
  balloon_due: 'Schlussrate fällig',
  terminated_early: 'vorzeitig beendet (Kündigung)',
  completed: 'abgeschlossen',
  paid_off: 'abgelöst',
  canceled: 'storniert',
  ended_early: 'vorzeitig beendet',
};
/** A plan's status in German; Stripe giving up after failed payments ends the collection, not the debt. */
function planStatusLabel(/** @type {any} */ p) {
  if (p.status === 'ended_early' && p.endReason === 'payment_failed') {
    return 'Einzug eingestellt (Zahlungen fehlgeschlagen), Restschuld offen';
  }
  return label(PLAN_STATUS, p.status);
}
const CASE_STATUS = {
  open: 'offen',
  paused: 'Mahnstopp',
  awaiting_decision: 'Entscheidung nötig',
  escalated: 'abgegeben',
  closed: 'erledigt',
};
const NEXT_REASON = {
  paid: 'bezahlt',
  disputed: 'strittig',
  paused: 'Mahnstopp',
  payment_processing: 'Zahlung in Bearbeitung',
  unapplied_transfer: 'Überweisung nicht zugeordnet',
  level_due: 'Mahnung fällig',
  waiting: 'abwarten',
  ladder_complete: 'alle Stufen versandt',
};
const SETTLEMENT = { settled: 'gutgeschrieben', processing: 'in Bearbeitung', failed: 'fehlgeschlagen' };
const EFFECT = { payment: 'Zahlung', refund: 'Erstattung', dispute: 'Rückbuchung' };
const LETTER_STATUS = { queued: 'in Warteschlange', sent: 'versandt', withdrawn: 'zurückgezogen' };
const DELIVERY = { outbox_only: 'nur Ablage', smtp: 'per E-Mail' };
const DEBTOR = { consumer: 'Privat', business: 'Gewerblich' };

/**
 * A table; `columns` say how each item becomes a row. Amount columns are right-aligned (`num`).
 * @param {{label: string, num?: boolean, cell: (item: any) => unknown}[]} columns
 * @param {any[]} items
 */
function table(columns, items) {
  const tbody = h('tbody');
  appendRows(tbody, columns, items);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { scope: 'col', class: c.num && 'num' }, c.label)),
      ),
    ),
    tbody,
  );
}

/**
 * @param {HTMLElement} tbody
 * @param {{label: string, num?: boolean, cell: (item: any) => unknown}[]} columns
 * @param {any[]} items
 */
function appendRows(tbody, columns, items) {
  for (const item of items) {
    tbody.append(
      h(
        'tr',
        {},
        columns.map((c) => h('td', { class: c.num && 'num' }, c.cell(item))),
      ),
    );
  }
}

/**
 * Term/value pairs as a definition list.
 * @param {[string, unknown][]} pairs
 */
const facts = (pairs) =>
  h(
    'dl',
    { class: 'facts' },
    pairs.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );

/**
 * A link only for http(s) URLs: a `javascript:` URL from the data must never become clickable.
 * @param {unknown} url
 * @param {string} caption
 */
function externalLink(url, caption) {
  if (typeof url !== 'string') return '–';
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return '–';
  } catch {
    return '–';
  }
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, caption);
}

// ------------------------------------------------------------------------------------------------- the API

class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {{field?: string, message?: string}[]} [details]
   */
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A response that arrived after the key was changed or removed: it belongs to nobody on screen now. */
class StaleAnswer extends Error {}

const storedKey = () => sessionStorage.getItem(KEY_STORAGE);

/**
 * Calls the JSON API with the stored key. Only same-origin `/api/` paths: the key goes nowhere else.
 * @param {string} path
 * @param {{method?: string, body?: unknown, raw?: boolean}} [options]
 */
async function api(path, options = {}) {
  if (!path.startsWith('/api/')) throw new ApiError(0, 'bad_path', 'Ungültiger Pfad.');
  const key = storedKey();
  if (!key) throw new ApiError(0, 'no_key', 'Bitte zuerst den API-Schlüssel eingeben.');
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${key}` };
  if (!options.raw) headers.accept = 'application/json';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Der Dienst ist nicht erreichbar. Bitte die Verbindung prüfen.');
  }
  if (storedKey() !== key) throw new StaleAnswer();
  if (res.ok && options.raw) return res;
  const body = await res.text().then((t) => {
    try {
      return t ? JSON.parse(t) : null;
    } catch {
      return null;
    }
  });
  if (res.ok) return body;
  const error = body && typeof body === 'object' ? body.error : null;
  if (res.status === 401) forgetKey();
  throw new ApiError(
    res.status,
    typeof error?.code === 'string' ? error.code : 'http_error',
    typeof error?.message === 'string' ? error.message : `Anfrage fehlgeschlagen (HTTP ${res.status}).`,
    Array.isArray(error?.details) ? error.details : [],
  );
}

// ------------------------------------------------------------------------------------------ banner, actions

/** @param {unknown} err */
function showError(err) {
  if (err instanceof StaleAnswer) return;
  const banner = byId('banner');
  const parts = [];
  if (err instanceof ApiError) {
    parts.push(h('strong', {}, err.status ? `Fehler ${err.status}: ` : 'Fehler: '), err.message);
    const details = err.details
      .map((d) => [d.field, d.message].filter(Boolean).join(': '))
      .filter((d) => d !== '');
    if (details.length > 0)
      parts.push(
        h(
          'ul',
          {},
          details.map((d) => h('li', {}, d)),
        ),
      );
  } else {
    // A bug of this page, not an API answer: say so without inventing details.
    parts.push(h('strong', {}, 'Fehler: '), 'Die Seite konnte die Antwort nicht darstellen.');
  }
  banner.replaceChildren(...parts);
  banner.hidden = false;
}

function clearError() {
  const banner = byId('banner');
  banner.hidden = true;
  banner.replaceChildren();
}

/**
 * Runs a user's action: the button is disabled meanwhile (no double submits), errors go to the banner.
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<unknown>} action
 */
async function run(button, action) {
  if (button) button.disabled = true;
  clearError();
  try {
    await action();
  } catch (err) {
    showError(err);
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * A list in pages of PAGE_SIZE: the first page now, then "Weitere laden" while the API reports more.
 * @param {HTMLElement} container
 * @param {{path: string, params?: Record<string, string>, columns: {label: string, num?: boolean, cell: (item: any) => unknown}[], empty: string, before?: unknown[]}} spec
 */
async function pagedList(container, spec) {
  const listTable = table(spec.columns, []);
  const tbody = /** @type {HTMLElement} */ (listTable.querySelector('tbody'));
  const more = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'secondary more', hidden: true }, 'Weitere laden')
  );
  /** @type {string | null} */
  let cursor = null;
  let shown = 0;
  const loadPage = async () => {
    const query = new URLSearchParams({ ...spec.params, limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    const page = await api(`${spec.path}?${query}`);
    appendRows(tbody, spec.columns, page.data);
    shown += page.data.length;
    cursor = page.hasMore && page.nextCursor ? page.nextCursor : null;
    more.hidden = cursor === null;
  };
  more.addEventListener('click', () => run(more, loadPage));
  await loadPage();
  container.replaceChildren(
    ...(spec.before ?? []),
    shown > 0 ? listTable : h('p', { class: 'empty' }, spec.empty),
    more,
  );
}

// ---------------------------------------------------------------------------------------------- Käufer

async function loadBuyers() {
  const panel = byId('panel-buyers');
  await pagedList(panel, {
    path: '/api/payments/customers',
    empty: 'Noch keine Käufer angelegt.',
    before: [h('h2', {}, 'Käufer')],
    columns: [
      {
        label: 'Name',
        cell: (b) =>
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: (/** @type {Event} */ e) =>
                run(/** @type {HTMLButtonElement} */ (e.currentTarget), () => showBuyer(b.id)),
            },
            b.name,
          ),
      },
      { label: 'E-Mail', cell: (b) => b.email },
      { label: 'Fahrzeug', cell: (b) => vehicleButton(b.vehicleId) },
      { label: 'Käufer-Nr.', cell: (b) => b.buyerId },
      { label: 'Art', cell: (b) => label(DEBTOR, b.type) },
      { label: 'Angelegt', cell: (b) => dateDe(b.createdAt) },
    ],
  });
}

/** @param {any} address */
function addressLines(address) {
  if (!address || typeof address !== 'object') return '–';
  const place = [address.postalCode, address.city].filter(Boolean).join(' ');
  return [address.line1, address.line2, place, address.country !== 'DE' ? address.country : null]
    .filter(Boolean)
    .join(', ');
}

const INVOICE_COLUMNS = [
  { label: 'Nummer', cell: (/** @type {any} */ i) => text(i.number) },
  { label: 'Art', cell: (/** @type {any} */ i) => label(INVOICE_KIND, i.kind) },
  { label: 'Beschreibung', cell: (/** @type {any} */ i) => text(i.description) },
  { label: 'Status', cell: (/** @type {any} */ i) => invoiceStatus(i) },
  { label: 'Betrag', num: true, cell: (/** @type {any} */ i) => euro(i.amountDue ?? i.amount) },
  { label: 'Bezahlt', num: true, cell: (/** @type {any} */ i) => euro(i.amountPaid) },
  { label: 'Offen', num: true, cell: (/** @type {any} */ i) => euro(i.amountRemaining) },
  { label: 'Fällig am', cell: (/** @type {any} */ i) => dateDe(i.dueDate) },
  { label: 'Rechnung', cell: (/** @type {any} */ i) => externalLink(i.hostedInvoiceUrl, 'ansehen') },
];

/** @param {any} invoice */
function invoiceStatus(invoice) {
  const status = label(INVOICE_STATUS, invoice.status);
  return invoice.paymentProcessing ? `${status} (Zahlung in Bearbeitung)` : status;
}

const PLAN_COLUMNS = [
  {
    label: 'Fahrzeug',
    cell: (/** @type {any} */ p) => [text(p.vehicleModel), h('br'), h('small', {}, text(p.vehicleId))],
  },
  { label: 'Status', cell: (/** @type {any} */ p) => planStatusLabel(p) },
  { label: 'Monatsrate', num: true, cell: (/** @type {any} */ p) => euro(p.monthlyRate) },
  {
    label: 'Raten bezahlt / offen',
    num: true,
    cell: (/** @type {any} */ p) => `${p.paidCount} / ${p.remainingCount}`,
  },
  { label: 'Laufzeit', num: true, cell: (/** @type {any} */ p) => `${p.durationMonths} Monate` },
  { label: 'Beginn', cell: (/** @type {any} */ p) => dateDe(p.startDate) },
  { label: 'Nächste Zahlung', cell: (/** @type {any} */ p) => dateDe(p.nextPaymentDate) },
  {
    label: 'Schlussrate',
    num: true,
    cell: (/** @type {any} */ p) =>
      p.balloon ? `${euro(p.balloon.amount)} am ${dateDe(p.balloon.dueDate)}` : '–',
  },
];

/** @param {string} id */
async function showBuyer(id) {
  const buyer = await api(`/api/payments/customers/${encodeURIComponent(id)}`);
  const invoices = Array.isArray(buyer.invoices) ? buyer.invoices : [];
  const plans = Array.isArray(buyer.financingPlans) ? buyer.financingPlans : [];
  byId('panel-buyers').replaceChildren(
    h(
      'button',
      {
        type: 'button',
        class: 'secondary back',
        onclick: (/** @type {Event} */ e) =>
          run(/** @type {HTMLButtonElement} */ (e.currentTarget), loadBuyers),
      },
      '← Zurück zur Käuferliste',
    ),
    h('h2', {}, buyer.name),
    facts([
      ['E-Mail', text(buyer.email)],
      ['Telefon', text(buyer.phone)],
      ['Anschrift', addressLines(buyer.address)],
      ['Fahrzeug', vehicleButton(buyer.vehicleId)],
      ['Käufer-Nr.', text(buyer.buyerId)],
      ['Art', label(DEBTOR, buyer.type) + (buyer.vatId ? ` · USt-IdNr. ${buyer.vatId}` : '')],
      ['Angelegt', dateDe(buyer.createdAt)],
      ...(buyer.unappliedTransfer > 0
        ? [
            [
              'Überweisung nicht zugeordnet',
              `${euro(buyer.unappliedTransfer)} – in Stripe zuordnen oder erstatten; Mahnungen warten bis zu 14 Tage`,
            ],
          ]
        : []),
    ]),
    h('h3', {}, 'Rechnungen'),
    invoices.length > 0 ? table(INVOICE_COLUMNS, invoices) : h('p', { class: 'empty' }, 'Keine Rechnungen.'),
    h('h3', {}, 'Finanzierungen'),
    plans.length > 0 ? table(PLAN_COLUMNS, plans) : h('p', { class: 'empty' }, 'Keine Finanzierungen.'),
  );
}

// ---------------------------------------------------------------------------------------------- Fahrzeug

/** A vehicle id that opens the Fahrzeug tab for it. @param {unknown} vehicleId */
function vehicleButton(vehicleId) {
  if (typeof vehicleId !== 'string' || vehicleId === '') return '–';
  return h(
    'button',
    {
      type: 'button',
      class: 'link',
      title: 'Zahlungsstand des Fahrzeugs anzeigen',
      onclick: () => {
        /** @type {HTMLInputElement} */ (byId('vehicle-id')).value = vehicleId;
        selectTab('vehicle');
        run(null, showVehicle);
      },
    },
    vehicleId,
  );
}

async function showVehicle() {
  const vehicleId = /** @type {HTMLInputElement} */ (byId('vehicle-id')).value.trim();
  const dealerId = /** @type {HTMLInputElement} */ (byId('vehicle-dealer')).value.trim();
  const result = byId('vehicle-result');
  if (vehicleId === '') return;
  const query = dealerId ? `?${new URLSearchParams({ dealerId })}` : '';
  result.replaceChildren(h('p', { class: 'empty' }, 'Wird geladen …'));
  try {
    const v = await api(`/api/payments/vehicles/${encodeURIComponent(vehicleId)}${query}`);
    renderVehicle(result, v);
  } catch (err) {
    result.replaceChildren();
    throw err;
  }
}

/**
 * @param {HTMLElement} result
 * @param {any} v
 */
function renderVehicle(result, v) {
  const card = (
    /** @type {string} */ title,
    /** @type {unknown} */ value,
    /** @type {string} */ extra = '',
  ) =>
    h(
      'div',
      { class: `card ${extra}` },
      h('div', { class: 'card-title' }, title),
      h('div', { class: 'card-value' }, value),
    );
  const next = v.nextDue ? `${euro(v.nextDue.amount)} am ${dateDe(v.nextDue.date)}` : '–';
  result.replaceChildren(
    h('h2', {}, `Fahrzeug ${v.vehicleId}`),
    h(
      'div',
      { class: 'cards' },
      card('Vereinbart', euro(v.totalAgreed)),
      card('Bezahlt (gutgeschrieben)', euro(v.paid?.settled), 'good'),
      card('In Bearbeitung (SEPA)', euro(v.paid?.processing)),
      card('Zurückgebucht', euro(v.paid?.reversed)),
      card('Offen', euro(v.open)),
      ...(v.unappliedTransfer > 0
        ? [card('Überweisung nicht zugeordnet', euro(v.unappliedTransfer), 'bad')]
        : []),
      card('Davon überfällig', euro(v.overdue), v.overdue > 0 ? 'bad' : ''),
      card('Nächste Fälligkeit', next),
    ),
    h('h3', {}, 'Rechnungen'),
    v.invoices?.length > 0
      ? table(INVOICE_COLUMNS, v.invoices)
      : h('p', { class: 'empty' }, 'Keine Rechnungen.'),
    h('h3', {}, 'Finanzierungen'),
    v.plans?.length > 0
      ? table(
          [
            { label: 'Status', cell: (p) => planStatusLabel(p) },
            { label: 'Monatsrate', num: true, cell: (p) => euro(p.monthlyRate) },
            { label: 'Laufzeit', num: true, cell: (p) => `${p.durationMonths} Monate` },
            { label: 'Vertragssumme', num: true, cell: (p) => euro(p.contractTotal) },
          ],
          v.plans,
        )
      : h('p', { class: 'empty' }, 'Keine Finanzierungen.'),
    h('h3', {}, 'Verlauf'),
    v.history?.length > 0
      ? table(
          [
            { label: 'Datum', cell: (e) => dateDe(e.occurredAt) },
            { label: 'Art', cell: (e) => label(INVOICE_KIND, e.kind) },
            { label: 'Vorgang', cell: (e) => label(EFFECT, e.effect) },
            { label: 'Betrag', num: true, cell: (e) => euro(e.amount) },
            { label: 'Stand', cell: (e) => label(SETTLEMENT, e.settlement) },
            { label: 'Grund', cell: (e) => text(e.reasonCode) },
          ],
          v.history,
        )
      : h('p', { class: 'empty' }, 'Noch keine Zahlungen.'),
  );
}

// ---------------------------------------------------------------------------------------- Finanzierungen

async function loadPlans() {
  await pagedList(byId('panel-plans'), {
    path: '/api/payments/subscriptions',
    empty: 'Keine Finanzierungen.',
    before: [h('h2', {}, 'Finanzierungen')],
    columns: PLAN_COLUMNS,
  });
}

// ---------------------------------------------------------------------------------------------- Mahnwesen

let dunningStatus = '';

async function loadDunning() {
  const filter = h(
    'select',
    {
      id: 'dunning-status',
      onchange: (/** @type {Event} */ e) => {
        dunningStatus = /** @type {HTMLSelectElement} */ (e.currentTarget).value;
        run(null, loadDunning);
      },
    },
    [['', 'alle'], ...Object.entries(CASE_STATUS)].map(([value, caption]) =>
      h('option', { value, selected: value === dunningStatus }, caption),
    ),
  );
  await pagedList(byId('panel-dunning'), {
    path: '/api/payments/dunning',
    params: dunningStatus ? { status: dunningStatus } : {},
    empty: 'Keine Mahnfälle.',
    before: [
      h('h2', {}, 'Mahnwesen'),
      h('p', { class: 'inline-form' }, h('label', { for: 'dunning-status' }, 'Status'), filter),
    ],
    columns: [
      { label: 'Käufer', cell: (c) => text(c.buyer?.name) },
      {
        label: 'Rechnung',
        cell: (c) => [text(c.invoice?.number), h('br'), h('small', {}, label(INVOICE_KIND, c.invoice?.kind))],
      },
      {
        label: 'Mahnstufe',
        cell: (c) => [
          text(c.levelName ?? (c.level > 0 ? `Stufe ${c.level}` : 'noch keine')),
          h('br'),
          h('small', {}, `${c.level} von ${c.levelCount}`),
        ],
      },
      { label: 'Tage überfällig', num: true, cell: (c) => text(c.daysOverdue) },
      { label: 'Offen', num: true, cell: (c) => euro(c.openAmount) },
      { label: 'Zinsen', num: true, cell: (c) => euro(c.interest) },
      { label: 'Gebühren', num: true, cell: (c) => euro((c.fees ?? 0) + (c.flatFee ?? 0)) },
      { label: 'Gesamt', num: true, cell: (c) => h('strong', {}, euro(c.totalClaim)) },
      { label: 'Nächster Schritt', cell: (c) => nextAction(c.nextAction) },
      { label: 'Status', cell: (c) => caseStatus(c) },
      { label: '', cell: (c) => pauseButton(c) },
    ],
  });
}

/** @param {any} next */
function nextAction(next) {
  if (!next || typeof next !== 'object') return '–';
  const on = next.on ? ` am ${dateDe(next.on)}` : '';
  switch (next.action) {
    case 'send_letter':
      return `Mahnung Stufe ${next.level}${on}`;
    case 'await_decision':
      return `Entscheidung über Abgabe (Inkasso/Mahnbescheid)${on}`;
    case 'close':
      return 'Fall schließen';
    default:
      return `keiner (${label(NEXT_REASON, next.reason)})`;
  }
}

/** @param {any} c */
function caseStatus(c) {
  const parts = [label(CASE_STATUS, c.status)];
  if (c.buyerPaused) parts.push(h('br'), h('small', {}, 'Mahnstopp für den Käufer'));
  if (c.disputed) parts.push(h('br'), h('small', {}, 'strittig'));
  if (c.paused && c.pauseReason)
    parts.push(h('br'), h('small', { class: 'reason' }, `Grund: ${c.pauseReason}`));
  return parts;
}

/** @param {any} c */
function pauseButton(c) {
  if (c.status === 'closed' || c.status === 'escalated') return '';
  const pause = !c.paused;
  return h(
    'button',
    {
      type: 'button',
      class: pause ? 'secondary' : '',
      onclick: (/** @type {Event} */ e) => {
        // The API wants a reason for every Mahnstopp and resumption; it lands in the case's audit trail.
        const reason = window.prompt(
          pause
            ? `Mahnstopp für ${c.buyer?.name ?? 'diesen Fall'} – Grund (mindestens 3 Zeichen):`
            : `Mahnverfahren für ${c.buyer?.name ?? 'diesen Fall'} fortsetzen – Grund (mindestens 3 Zeichen):`,
        );
        if (reason === null) return;
        run(/** @type {HTMLButtonElement} */ (e.currentTarget), async () => {
          await api(`/api/payments/dunning/${encodeURIComponent(c.id)}/${pause ? 'pause' : 'resume'}`, {
            method: 'POST',
            body: { reason },
          });
          await loadDunning();
        });
      },
    },
    pause ? 'Mahnstopp' : 'Fortsetzen',
  );
}

// ---------------------------------------------------------------------------------------------- Briefe

async function loadLetters() {
  const panel = byId('panel-letters');
  try {
    await pagedList(panel, {
      path: '/api/admin/letters',
      empty: 'Noch keine Briefe geschrieben.',
      before: [
        h('h2', {}, 'Briefe (Ausgang)'),
        h('p', { class: 'hint' }, 'Alle Zahlungserinnerungen und Mahnungen, neueste zuerst.'),
      ],
      columns: [
        { label: 'Datum', cell: (l) => dateDe(l.letterDate) },
        { label: 'Stufe', cell: (l) => text(l.levelName) },
        { label: 'Empfänger', cell: (l) => text(l.recipientEmail) },
        { label: 'Betreff', cell: (l) => text(l.subject) },
        { label: 'Forderung', num: true, cell: (l) => euro(l.totalDue) },
        { label: 'Frist', cell: (l) => dateDe(l.deadline) },
        {
          label: 'Status',
          cell: (l) => [
            `${label(LETTER_STATUS, l.status)} · ${label(DELIVERY, l.deliveredVia)}`,
            l.creditorPlaceholder
              ? [h('br'), h('small', { class: 'reason' }, 'Gläubigerdaten fehlen')]
              : null,
          ],
        },
        { label: 'PDF', cell: (l) => pdfButton(l) },
      ],
    });
  } catch (err) {
    // Dealers get a 403 here by design; that is not a failure worth a red banner.
    if (err instanceof ApiError && err.status === 403) {
      panel.replaceChildren(
        h('h2', {}, 'Briefe (Ausgang)'),
        h(
          'p',
          { class: 'notice', id: 'letters-forbidden' },
          'Die Briefe sind nur mit dem Admin-Schlüssel von MORELO sichtbar. Die Mahnfälle Ihrer Käufer finden Sie unter „Mahnwesen“.',
        ),
      );
      return;
    }
    throw err;
  }
}

/**
 * The PDF needs the key, so a plain link cannot fetch it: the page fetches it and hands the browser a blob.
 * @param {any} letter
 */
function pdfButton(letter) {
  if (typeof letter.pdfUrl !== 'string') return '–';
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: (/** @type {Event} */ e) =>
        run(/** @type {HTMLButtonElement} */ (e.currentTarget), async () => {
          const res = await api(letter.pdfUrl, { raw: true });
          const disposition = res.headers.get('content-disposition') ?? '';
          const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${letter.id}.pdf`;
          const url = URL.createObjectURL(await res.blob());
          const a = h('a', { href: url, download: filename });
          document.body.append(a);
          a.click();
          a.remove();
          // The download has started from the blob by now; give it a moment before freeing the memory.
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        }),
    },
    'PDF',
  );
}

// ------------------------------------------------------------------------------------------ tabs and key

/** @type {Record<string, (() => Promise<void>) | null>} */
const LOADERS = {
  buyers: loadBuyers,
  vehicle: null,
  plans: loadPlans,
  dunning: loadDunning,
  letters: loadLetters,
};
let currentTab = 'buyers';

/** @param {string} name */
function selectTab(name) {
  currentTab = name;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.getAttribute('data-tab') === name;
    tab.setAttribute('aria-selected', String(selected));
    byId(`panel-${tab.getAttribute('data-tab')}`).hidden = !selected;
  }
}

/** Loads the current tab afresh (every visit shows current data). */
function refresh() {
  const loader = LOADERS[currentTab];
  if (loader && storedKey()) run(null, loader);
}

/** @param {boolean} loggedIn */
function showLoggedIn(loggedIn) {
  byId('logout').hidden = !loggedIn;
  byId('hint').hidden = loggedIn;
  /** @type {HTMLInputElement} */ (byId('api-key')).placeholder = loggedIn
    ? 'gespeichert – neuer Schlüssel?'
    : '';
}

function clearPanels() {
  for (const name of ['buyers', 'plans', 'dunning', 'letters']) byId(`panel-${name}`).replaceChildren();
  byId('vehicle-result').replaceChildren();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  clearPanels();
  showLoggedIn(false);
}

function start() {
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ (byId('api-key'));
    const key = input.value.trim();
    if (key === '') return;
    sessionStorage.setItem(KEY_STORAGE, key);
    input.value = '';
    clearPanels();
    showLoggedIn(true);
    refresh();
  });
  byId('logout').addEventListener('click', () => {
    forgetKey();
    clearError();
  });
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener('click', () => {
      selectTab(tab.getAttribute('data-tab') ?? 'buyers');
      refresh();
    });
  }
  byId('vehicle-form').addEventListener('submit', (e) => {
    e.preventDefault();
    run(
      /** @type {HTMLButtonElement} */ (
        /** @type {HTMLFormElement} */ (e.currentTarget).querySelector('button')
      ),
      showVehicle,
    );
  });
  showLoggedIn(Boolean(storedKey()));
  refresh();
}

start();
