/**
 * The emulator's hosted checkout: the page behind a payment link's `url` (`/pay/plink_…`) and a
 * session's `url` (`/c/pay/cs_…`), in German, with one button per test outcome instead of card and
 * IBAN fields. Tests without a browser use `POST /_emulator/checkout/complete`, which runs the same
 * code as the page's buttons.
 *
 * Paying creates the PaymentIntent (through the payments contract) and confirms it. The session
 * follows the PaymentIntent: `succeeded` → complete/paid, `processing` (SEPA) → complete/unpaid, then
 * `checkout.session.async_payment_succeeded|failed` when the debit settles; a decline leaves the
 * session open for another try.
 */
import type Stripe from 'stripe';
import { ApiError, errors } from '../errors.ts';
import { p } from '../params.ts';
import { type EmulatorContext, RawResponse, type ResourceModule, route } from '../resource.ts';
import {
  CHECKOUT_SESSION_COLLECTION,
  createSessionForLink,
  requireSession,
  saveSession,
  sessionExtras,
} from './checkout-sessions.ts';
import { buildCustomer } from './customers.ts';
import {
  countCompletedSession,
  lineItemsOf,
  linkUnavailableReason,
  requirePaymentLink,
} from './payment-links.ts';
import { attachPaymentMethod, chargeBehaviour } from './payment-methods.ts';
import {
  confirmPaymentIntent,
  createPaymentIntent,
  createSepaPaymentMethod,
  onPaymentIntentOutcome,
  resolvePaymentMethod,
} from './payments-internal.ts';
import { failSetupIntent, SETUP_INTENT_COLLECTION, succeedSetupIntent } from './setup-intents.ts';
import { requireLive } from './shared.ts';

/** What the tester chose: which test card or IBAN pays. */
export const OUTCOMES = ['card', 'card_declined', 'sepa_success', 'sepa_failure'] as const;
export type CheckoutOutcome = (typeof OUTCOMES)[number];

/** Stripe's test IBANs: the first debit succeeds, the second fails when it settles. */
const IBAN: Record<'sepa_success' | 'sepa_failure', string> = {
  sepa_success: 'DE89370400440532013000',
  sepa_failure: 'DE62370400440532013001',
};

/** Who pays, as typed on the page (defaults stand in for an empty form). */
export interface Buyer {
  email?: string;
  name?: string;
}

/** The outcome of one press of a pay button. */
export interface CheckoutResult {
  session: Stripe.Checkout.Session;
  payment_intent: Stripe.PaymentIntent | null;
  setup_intent: Stripe.SetupIntent | null;
  /** `success_url` / the link's redirect with `{CHECKOUT_SESSION_ID}` filled in; null → confirmation page. */
  redirect_url: string | null;
  /** Why the session is still open (a declined card); null when it completed. */
  error: { code: string; message: string } | null;
}

/** Something the buyer cannot do (inactive link, session no longer open): a 400 to API callers. */
function refused(message: string): ApiError {
  return errors.invalidParam(undefined, message, 'checkout_unavailable');
}

/** Opens a new session for a link that can still be paid. */
export function openSessionForLink(
  ctx: EmulatorContext,
  linkId: string,
  param = 'id',
): Stripe.Checkout.Session {
  const link = requirePaymentLink(ctx, linkId, param, param === 'id' ? 404 : 400);
  const reason = linkUnavailableReason(link);
  if (reason) throw refused(link.inactive_message ?? reason);
  return createSessionForLink(ctx, link);
}

function redirectUrl(session: Stripe.Checkout.Session): string | null {
  return session.success_url ? session.success_url.replaceAll('{CHECKOUT_SESSION_ID}', session.id) : null;
}

function readSetupIntent(ctx: EmulatorContext, session: Stripe.Checkout.Session): Stripe.SetupIntent | null {
  if (typeof session.setup_intent !== 'string') return null;
  return ctx.store.collection<Stripe.SetupIntent>(SETUP_INTENT_COLLECTION).get(session.setup_intent) ?? null;
}

function customerDetails(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  buyer: Buyer,
): Stripe.Checkout.Session.CustomerDetails {
  const customer =
    typeof session.customer === 'string'
      ? ctx.store.collection<Stripe.Customer>('customer').get(session.customer)
      : undefined;
  return {
    address: null,
    business_name: null,
    email: buyer.email || session.customer_email || customer?.email || 'kunde@example.com',
    individual_name: null,
    name: buyer.name || customer?.name || 'Max Mustermann',
    phone: null,
    tax_exempt: 'none',
    tax_ids: [],
  };
}

/** Marks the session complete and records `checkout.session.completed`. */
function completeSession(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  paymentStatus: Stripe.Checkout.Session.PaymentStatus,
): Stripe.Checkout.Session {
  const saved = saveSession(ctx, {
    ...session,
    status: 'complete',
    payment_status: paymentStatus,
    url: null,
    collected_information: { business_name: null, individual_name: null, shipping_details: null },
  });
  if (typeof saved.payment_link === 'string') countCompletedSession(ctx, saved.payment_link);
  ctx.emit('checkout.session.completed', saved);
  return saved;
}

/** Remembers which async outcome was already announced, so a repeated listener call stays silent. */
interface AsyncOutcomeRecord {
  id: string;
  outcome: 'succeeded' | 'failed';
}
const ASYNC_OUTCOMES = 'checkout_session_async_outcome';

/**
 * Moves a session along with its PaymentIntent. Idempotent: called by the payments listener (synchronously
 * inside confirm, and later when SEPA settles) and once more after confirm returns.
 */
function followPaymentIntent(ctx: EmulatorContext, sessionId: string, pi: Stripe.PaymentIntent): void {
  const session = ctx.store.collection<Stripe.Checkout.Session>(CHECKOUT_SESSION_COLLECTION).get(sessionId);
  if (!session) return;
  if (session.status === 'open') {
    if (pi.status === 'succeeded') completeSession(ctx, session, 'paid');
    else if (pi.status === 'processing') completeSession(ctx, session, 'unpaid');
    return;
  }
  if (session.status !== 'complete' || session.payment_status !== 'unpaid') return;
  const announced = ctx.store.collection<AsyncOutcomeRecord>(ASYNC_OUTCOMES);
  if (announced.get(sessionId)) return;
  if (pi.status === 'succeeded') {
    announced.insert({ id: sessionId, outcome: 'succeeded' });
    const saved = saveSession(ctx, { ...session, payment_status: 'paid' });
    ctx.emit('checkout.session.async_payment_succeeded', saved);
  } else if (pi.status === 'requires_payment_method' || pi.status === 'canceled') {
    announced.insert({ id: sessionId, outcome: 'failed' });
    ctx.emit('checkout.session.async_payment_failed', session);
  }
}

onPaymentIntentOutcome((ctx, pi, origin) => {
  if (origin?.kind === 'checkout_session') followPaymentIntent(ctx, origin.id, pi);
});

function paymentMethodFor(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  outcome: CheckoutOutcome,
  buyer: Buyer,
): Stripe.PaymentMethod {
  if (outcome === 'card') return resolvePaymentMethod(ctx, 'pm_card_visa');
  if (outcome === 'card_declined') return resolvePaymentMethod(ctx, 'pm_card_visa_chargeDeclined');
  const details = customerDetails(ctx, session, buyer);
  return createSepaPaymentMethod(ctx, IBAN[outcome], {
    name: details.name ?? 'Max Mustermann',
    ...(details.email ? { email: details.email } : {}),
  });
}

/** Refuses an outcome whose payment method type the session does not offer, before anything changes. */
function assertOffered(session: Stripe.Checkout.Session, outcome: CheckoutOutcome): void {
  const type = outcome === 'card' || outcome === 'card_declined' ? 'card' : 'sepa_debit';
  if (!session.payment_method_types.includes(type)) {
    throw errors.invalidParam('outcome', `This Checkout Session does not offer ${type}.`);
  }
}

/** Reads the error a failed confirmation left on the PaymentIntent. */
function declineOf(pi: Stripe.PaymentIntent): { code: string; message: string } {
  const e = pi.last_payment_error;
  return {
    code: e?.decline_code ?? e?.code ?? 'card_declined',
    message: e?.message ?? 'Your card was declined.',
  };
}

function payForSession(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  outcome: CheckoutOutcome,
  buyer: Buyer,
): CheckoutResult {
  if (typeof session.payment_link === 'string') {
    const reason = linkUnavailableReason(requirePaymentLink(ctx, session.payment_link));
    if (reason) throw refused(reason);
  }
  let current = saveSession(ctx, { ...session, customer_details: customerDetails(ctx, session, buyer) });
  if (current.customer === null && current.customer_creation === 'always') {
    const details = current.customer_details!;
    const customer = buildCustomer(ctx.newId('cus'), ctx.now());
    customer.email = details.email;
    customer.name = details.name;
    const saved = ctx.store.collection<Stripe.Customer>('customer').insert(customer);
    ctx.emit('customer.created', saved);
    current = saveSession(ctx, { ...current, customer: saved.id });
  }
  const pm = paymentMethodFor(ctx, current, outcome, buyer);
  let piId = typeof current.payment_intent === 'string' ? current.payment_intent : null;
  if (piId === null) {
    const extras = sessionExtras(ctx, current.id);
    const pi = createPaymentIntent(ctx, {
      amount: current.amount_total ?? 0,
      currency: current.currency ?? 'eur',
      customer: typeof current.customer === 'string' ? current.customer : null,
      payment_method_types: current.payment_method_types,
      description: extras.payment_intent_data.description,
      metadata: extras.payment_intent_data.metadata,
      setup_future_usage:
        extras.payment_intent_data.setup_future_usage === 'off_session' ? 'off_session' : null,
      origin: { kind: 'checkout_session', id: current.id },
    });
    piId = pi.id;
    current = saveSession(ctx, { ...current, payment_intent: pi.id });
  }
  let pi: Stripe.PaymentIntent;
  try {
    pi = confirmPaymentIntent(ctx, piId, pm.id);
  } catch (err) {
    // A decline may surface as the API's 402; the PaymentIntent then carries last_payment_error.
    if (!(err instanceof ApiError) || err.body.type !== 'card_error') throw err;
    pi = ctx.store.collection<Stripe.PaymentIntent>('payment_intent').get(piId)!;
  }
  followPaymentIntent(ctx, current.id, pi);
  const after = requireSession(ctx, current.id);
  const completed = after.status === 'complete';
  return {
    session: after,
    payment_intent: pi,
    setup_intent: null,
    redirect_url: completed ? redirectUrl(after) : null,
    error: completed ? null : declineOf(pi),
  };
}

function setUpForSession(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  outcome: CheckoutOutcome,
  buyer: Buyer,
): CheckoutResult {
  const current = saveSession(ctx, { ...session, customer_details: customerDetails(ctx, session, buyer) });
  const si = readSetupIntent(ctx, current)!;
  const pm = paymentMethodFor(ctx, current, outcome, buyer);
  const behaviour = chargeBehaviour(ctx, pm.id);
  if (behaviour.kind === 'card' && behaviour.decline) {
    const message = 'Your card was declined.';
    const failed = failSetupIntent(ctx, si.id, {
      code: 'card_declined',
      decline_code: behaviour.decline,
      message,
      payment_method: pm,
    });
    return {
      session: requireSession(ctx, current.id),
      payment_intent: null,
      setup_intent: failed,
      redirect_url: null,
      error: { code: behaviour.decline, message },
    };
  }
  if (typeof current.customer === 'string') attachPaymentMethod(ctx, pm, current.customer);
  const succeeded = succeedSetupIntent(ctx, si.id, pm.id);
  const completed = completeSession(ctx, current, 'no_payment_required');
  return {
    session: completed,
    payment_intent: null,
    setup_intent: succeeded,
    redirect_url: redirectUrl(completed),
    error: null,
  };
}

/**
 * Pays (or sets up) an open session with the chosen test outcome: the shared path of the page's
 * buttons and the helper route.
 */
export function completeCheckout(
  ctx: EmulatorContext,
  sessionId: string,
  outcome: CheckoutOutcome,
  buyer: Buyer = {},
): CheckoutResult {
  const session = requireSession(ctx, sessionId);
  if (session.status !== 'open') {
    throw refused(
      session.status === 'complete'
        ? 'This Checkout Session is already complete.'
        : 'This Checkout Session has expired.',
    );
  }
  assertOffered(session, outcome);
  return session.mode === 'setup'
    ? setUpForSession(ctx, session, outcome, buyer)
    : payForSession(ctx, session, outcome, buyer);
}

// ---------------------------------------------------------------------------------------------
// HTML

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function money(cents: number, currency: string): string {
  return new Intl.NumberFormat('de-DE', { style: 'currency', currency: currency.toUpperCase() }).format(
    cents / 100,
  );
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f4f6; color: #1f2937; margin: 0; }
  main { max-width: 34rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem 2.25rem;
         box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.06); }
  .badge { display: inline-block; font-size: .75rem; font-weight: 600; letter-spacing: .04em; color: #92400e;
           background: #fef3c7; border-radius: 999px; padding: .15rem .6rem; }
  h1 { font-size: 1.35rem; margin: .75rem 0 .25rem; }
  .total { font-size: 2rem; font-weight: 700; margin: .25rem 0 1.25rem; }
  table { width: 100%; border-collapse: collapse; margin-bottom: 1.25rem; }
  td { padding: .45rem 0; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
  td.amount { text-align: right; white-space: nowrap; }
  .muted { color: #6b7280; font-size: .875rem; }
  label { display: block; font-size: .875rem; margin: .6rem 0 .2rem; }
  input { width: 100%; box-sizing: border-box; padding: .55rem .7rem; border: 1px solid #d1d5db; border-radius: 8px; font-size: 1rem; }
  .buttons { display: grid; gap: .6rem; margin-top: 1.25rem; }
  button { padding: .75rem 1rem; border-radius: 8px; border: 1px solid transparent; font: inherit; font-weight: 600; cursor: pointer; }
  button.primary { background: #1d4ed8; color: #fff; }
  button.secondary { background: #fff; color: #1d4ed8; border-color: #1d4ed8; }
  button.fail { background: #fff; color: #b91c1c; border-color: #fca5a5; }
  .error { background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; }
  .ok { background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; border-radius: 8px; padding: .75rem 1rem; }
</style></head>
<body><main><span class="badge">TESTMODUS · Stripe-Emulator</span>
${body}
</main></body></html>`;
}

function htmlPage(title: string, body: string, status = 200): RawResponse {
  return new RawResponse('text/html; charset=utf-8', layout(title, body), status);
}

function messagePage(title: string, message: string, status = 200): RawResponse {
  return htmlPage(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`, status);
}

interface FormView {
  action: string;
  mode: 'payment' | 'setup';
  currency: string;
  amount: number;
  items: Array<{ name: string; quantity: number | null; amount: number }>;
  paymentMethodTypes: string[];
  email: string;
  name: string;
  clientReferenceId?: string;
  error?: string;
}

function checkoutForm(v: FormView): string {
  const rows = v.items
    .map(
      (li) =>
        `<tr><td>${escapeHtml(li.name)}${li.quantity && li.quantity !== 1 ? ` <span class="muted">× ${li.quantity}</span>` : ''}</td><td class="amount">${money(li.amount, v.currency)}</td></tr>`,
    )
    .join('');
  const card = v.paymentMethodTypes.includes('card');
  const sepa = v.paymentMethodTypes.includes('sepa_debit');
  const buttons =
    v.mode === 'payment'
      ? [
          card && '<button class="primary" name="outcome" value="card">Mit Karte bezahlen</button>',
          card && '<button class="fail" name="outcome" value="card_declined">Karte abgelehnt</button>',
          sepa &&
            '<button class="secondary" name="outcome" value="sepa_success">SEPA-Lastschrift (erfolgreich)</button>',
          sepa &&
            '<button class="fail" name="outcome" value="sepa_failure">SEPA-Lastschrift (scheitert)</button>',
        ]
      : [
          card && '<button class="primary" name="outcome" value="card">Karte hinterlegen</button>',
          card && '<button class="fail" name="outcome" value="card_declined">Karte abgelehnt</button>',
          sepa &&
            '<button class="secondary" name="outcome" value="sepa_success">SEPA-Mandat erteilen</button>',
        ];
  const heading =
    v.mode === 'payment'
      ? `<h1>Zahlung</h1><div class="total">${money(v.amount, v.currency)}</div><table>${rows}</table>`
      : `<h1>Zahlungsmethode hinterlegen</h1><p class="muted">Für künftige Zahlungen in ${escapeHtml(v.currency.toUpperCase())}; jetzt wird nichts abgebucht.</p>`;
  return `${heading}
${v.error ? `<div class="error" role="alert">${escapeHtml(v.error)}</div>` : ''}
<form method="post" action="${escapeHtml(v.action)}">
  <label for="email">E-Mail</label><input id="email" name="email" type="email" value="${escapeHtml(v.email)}">
  <label for="name">Name (Karteninhaber / Kontoinhaber)</label><input id="name" name="name" value="${escapeHtml(v.name)}">
  ${v.clientReferenceId ? `<input type="hidden" name="client_reference_id" value="${escapeHtml(v.clientReferenceId)}">` : ''}
  <div class="buttons">${buttons.filter(Boolean).join('\n')}</div>
</form>
<p class="muted">Testkarten: 4242 4242 4242 4242 (erfolgreich), 4000 0000 0000 0002 (abgelehnt). Test-IBANs: DE89 3704 0044 0532 0130 00 (erfolgreich), DE62 3704 0044 0532 0130 01 (scheitert).</p>`;
}

function sessionForm(
  ctx: EmulatorContext,
  session: Stripe.Checkout.Session,
  error?: string,
  buyer: Buyer = {},
): RawResponse {
  return htmlPage(
    session.mode === 'setup' ? 'Zahlungsmethode hinterlegen' : 'Bezahlen',
    checkoutForm({
      action: `/c/pay/${session.id}`,
      mode: session.mode === 'setup' ? 'setup' : 'payment',
      currency: session.currency ?? 'eur',
      amount: session.amount_total ?? 0,
      items: lineItemsOf(ctx, session.id).map((li) => ({
        name: li.description ?? '',
        quantity: li.quantity,
        amount: li.amount_total,
      })),
      paymentMethodTypes: session.payment_method_types,
      email: buyer.email ?? session.customer_details?.email ?? session.customer_email ?? '',
      name: buyer.name ?? session.customer_details?.name ?? '',
      ...(error ? { error } : {}),
    }),
    error ? 402 : 200,
  );
}

function confirmationPage(ctx: EmulatorContext, session: Stripe.Checkout.Session): RawResponse {
  let custom: string | null = null;
  if (typeof session.payment_link === 'string') {
    const link = requirePaymentLink(ctx, session.payment_link);
    custom = link.after_completion.hosted_confirmation?.custom_message ?? null;
  }
  const what =
    session.mode === 'setup'
      ? 'Ihre Zahlungsmethode wurde hinterlegt.'
      : session.payment_status === 'paid'
        ? `Vielen Dank! Ihre Zahlung über ${money(session.amount_total ?? 0, session.currency ?? 'eur')} ist eingegangen.`
        : `Vielen Dank! Ihre Lastschrift über ${money(session.amount_total ?? 0, session.currency ?? 'eur')} wird bearbeitet.`;
  return htmlPage(
    'Zahlung abgeschlossen',
    `<h1>Abgeschlossen</h1><div class="ok">${escapeHtml(custom ?? what)}</div><p class="muted">Referenz: ${escapeHtml(session.id)}</p>`,
  );
}

/** After a button press: on to the redirect (303), the confirmation page, or the form with the decline. */
function afterPress(ctx: EmulatorContext, result: CheckoutResult, buyer: Buyer): RawResponse {
  if (result.error)
    return sessionForm(ctx, result.session, `Zahlung fehlgeschlagen: ${result.error.message}`, buyer);
  if (result.redirect_url) {
    return new RawResponse('text/html; charset=utf-8', '', 303, { Location: result.redirect_url });
  }
  return new RawResponse('text/html; charset=utf-8', '', 303, { Location: `/c/pay/${result.session.id}` });
}

/** Turns refusals and 404s into a page a buyer can read. */
function asPage(fn: () => RawResponse): RawResponse {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 404) return messagePage('Nicht gefunden', 'Diese Zahlungsseite gibt es nicht.', 404);
    return messagePage('Nicht verfügbar', err.body.message, err.status);
  }
}

function buyerOf(form: { email?: string; name?: string }): Buyer {
  return { ...(form.email ? { email: form.email } : {}), ...(form.name ? { name: form.name } : {}) };
}

const pressFields = {
  outcome: p.enum(OUTCOMES).required(),
  email: p.string({ maxLength: 800 }).emptyable(),
  name: p.string({ maxLength: 200 }).emptyable(),
  client_reference_id: p.string({ maxLength: 200 }).emptyable(),
};

export const checkoutPage: ResourceModule = {
  name: 'checkout_page',
  routes: [
    route({
      method: 'GET',
      path: '/pay/:id',
      params: { prefilled_email: p.string(), client_reference_id: p.string({ maxLength: 200 }) },
      public: true,
      handler(ctx) {
        return asPage(() => {
          const link = requirePaymentLink(ctx, ctx.path.id!);
          const reason = linkUnavailableReason(link);
          if (reason) {
            return messagePage(
              'Dieser Zahlungslink ist nicht mehr aktiv',
              link.inactive_message ?? 'Über diesen Link kann nicht mehr bezahlt werden.',
            );
          }
          return htmlPage(
            'Bezahlen',
            checkoutForm({
              action: `/pay/${link.id}`,
              mode: 'payment',
              currency: link.currency,
              amount: lineItemsOf(ctx, link.id).reduce((sum, li) => sum + li.amount_total, 0),
              items: lineItemsOf(ctx, link.id).map((li) => ({
                name: li.description ?? '',
                quantity: li.quantity,
                amount: li.amount_total,
              })),
              paymentMethodTypes: link.payment_method_types?.length
                ? link.payment_method_types
                : link.currency === 'eur'
                  ? ['card', 'sepa_debit']
                  : ['card'],
              email: ctx.params.prefilled_email ?? '',
              name: '',
              ...(ctx.params.client_reference_id
                ? { clientReferenceId: ctx.params.client_reference_id }
                : {}),
            }),
          );
        });
      },
    }),
    route({
      method: 'POST',
      path: '/pay/:id',
      params: pressFields,
      public: true,
      handler(ctx) {
        return asPage(() => {
          const buyer = buyerOf({ email: ctx.params.email ?? undefined, name: ctx.params.name ?? undefined });
          const link = requirePaymentLink(ctx, ctx.path.id!);
          if (linkUnavailableReason(link))
            return new RawResponse('text/html', '', 303, { Location: `/pay/${link.id}` });
          let session = openSessionForLink(ctx, link.id);
          if (ctx.params.client_reference_id)
            session = saveSession(ctx, { ...session, client_reference_id: ctx.params.client_reference_id });
          return afterPress(ctx, completeCheckout(ctx, session.id, ctx.params.outcome, buyer), buyer);
        });
      },
    }),
    route({
      method: 'GET',
      path: '/c/pay/:id',
      params: {},
      public: true,
      handler(ctx) {
        return asPage(() => {
          const session = requireSession(ctx, ctx.path.id!);
          if (session.status === 'complete') return confirmationPage(ctx, session);
          if (session.status === 'expired')
            return messagePage(
              'Sitzung abgelaufen',
              'Diese Bezahlsitzung ist abgelaufen. Bitte fordern Sie einen neuen Link an.',
            );
          return sessionForm(ctx, session);
        });
      },
    }),
    route({
      method: 'POST',
      path: '/c/pay/:id',
      params: pressFields,
      public: true,
      handler(ctx) {
        return asPage(() => {
          const buyer = buyerOf({ email: ctx.params.email ?? undefined, name: ctx.params.name ?? undefined });
          const session = requireSession(ctx, ctx.path.id!);
          if (session.status !== 'open')
            return new RawResponse('text/html', '', 303, { Location: `/c/pay/${session.id}` });
          return afterPress(ctx, completeCheckout(ctx, session.id, ctx.params.outcome, buyer), buyer);
        });
      },
    }),
    route({
      method: 'POST',
      path: '/_emulator/checkout/complete',
      params: {
        link: p.string(),
        session: p.string(),
        outcome: p.enum(OUTCOMES).required(),
        email: p.string({ maxLength: 800 }),
        name: p.string({ maxLength: 200 }),
      },
      handler(ctx): CheckoutResult {
        const q = ctx.params;
        if (q.link !== undefined && q.session !== undefined)
          throw errors.parametersExclusive(['link', 'session']);
        let sessionId: string;
        if (q.link !== undefined) sessionId = openSessionForLink(ctx, q.link, 'link').id;
        else if (q.session !== undefined) {
          sessionId = requireLive(
            ctx,
            CHECKOUT_SESSION_COLLECTION,
            q.session,
            'checkout.session',
            'session',
            400,
          ).id;
        } else throw errors.parameterMissing('link');
        const result = completeCheckout(ctx, sessionId, q.outcome, buyerOf(q));
        return { ...result, setup_intent: result.setup_intent ?? readSetupIntent(ctx, result.session) };
      },
    }),
  ],
};
