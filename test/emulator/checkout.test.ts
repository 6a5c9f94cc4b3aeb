/**
 * Payment links, Checkout Sessions and the hosted checkout, through the SDK and the emulator's
 * `POST /_emulator/checkout/complete` helper (the same code path as the page's buttons).
 */
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, Receiver, startHarness } from './helpers.ts';

const SECRET = 'whsec_checkout_tests';
/** What the event assertions listen to: checkout and the intents behind it (charges are the payments tests' business). */
const WATCHED = [
  'checkout.session.completed',
  'checkout.session.expired',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'payment_intent.created',
  'payment_intent.processing',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'setup_intent.created',
  'setup_intent.succeeded',
  'setup_intent.setup_failed',
  'setup_intent.canceled',
  'payment_method.attached',
  'customer.created',
  'payment_link.created',
  'payment_link.updated',
] as const;

let h: Harness;
let receiver: Receiver;
let stripe: Stripe;

beforeAll(async () => {
  h = await startHarness({ webhookSigningSecret: SECRET, webhookRetryDelaysMs: [50] });
  stripe = h.stripe;
});
afterAll(() => h.emu.close());

beforeEach(async () => {
  receiver = await new Receiver().start();
  await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: [...WATCHED] });
});
afterEach(async () => {
  for (const e of (await stripe.webhookEndpoints.list({ limit: 100 })).data)
    await stripe.webhookEndpoints.del(e.id);
  await receiver.stop();
});

interface Completion {
  session: Stripe.Checkout.Session;
  payment_intent: Stripe.PaymentIntent | null;
  setup_intent: Stripe.SetupIntent | null;
  redirect_url: string | null;
  error: { code: string; message: string } | null;
}

/** Calls the no-browser completion helper; resolves with the status and JSON body. */
async function complete(body: Record<string, string>): Promise<{ status: number; json: Completion }> {
  const res = await fetch(`${h.emu.url}/_emulator/checkout/complete`, {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_checkout', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  // On a 4xx the body is Stripe's `{error: {type, code, message}}`, which the `error` member also covers.
  return { status: res.status, json: (await res.json()) as Completion };
}

async function completeOk(body: Record<string, string>): Promise<Completion> {
  const { status, json } = await complete(body);
  expect(status).toBe(200);
  return json;
}

/**
 * The webhook event types that arrived since the last call, each checked against its signature.
 * Delivery order is not guaranteed (as on Stripe), so arrival is compared as a multiset and the
 * emission order is read from the events list.
 */
let seen = 0;
async function newEvents(): Promise<{ received: string[]; emitted: string[] }> {
  await h.emu.drainWebhooks();
  const fresh = receiver.received.slice(seen);
  seen = receiver.received.length;
  const received = fresh.map((r) => stripe.webhooks.constructEvent(r.body, r.signature, SECRET).type);
  const ids = new Set(fresh.map((r) => r.event.id));
  const listed = await stripe.events.list({ limit: 100 });
  const emitted = listed.data
    .filter((e) => ids.has(e.id))
    .reverse()
    .map((e) => e.type);
  return { received: [...received].sort(), emitted };
}

async function expectEvents(expected: string[]): Promise<void> {
  const { received, emitted } = await newEvents();
  expect(emitted).toEqual(expected);
  expect(received).toEqual([...expected].sort());
}

beforeEach(() => {
  seen = 0;
});

async function palacePrice(amount = 2_500_000): Promise<Stripe.Price> {
  return stripe.prices.create({
    currency: 'eur',
    unit_amount: amount,
    product_data: { name: 'Anzahlung MORELO Palace 90G' },
  });
}

describe('payment links', () => {
  it('creates, retrieves, lists, updates and deactivates a link', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      metadata: { contract: 'K-1001' },
      payment_intent_data: {
        metadata: { contract: 'K-1001', kind: 'down_payment' },
        description: 'Anzahlung',
      },
      restrictions: { completed_sessions: { limit: 1 } },
      payment_method_types: ['card', 'sepa_debit'],
      customer_creation: 'always',
    });
    expect(link).toMatchObject({
      object: 'payment_link',
      active: true,
      currency: 'eur',
      metadata: { contract: 'K-1001' },
      payment_intent_data: {
        metadata: { contract: 'K-1001', kind: 'down_payment' },
        description: 'Anzahlung',
      },
      restrictions: { completed_sessions: { count: 0, limit: 1 } },
      payment_method_types: ['card', 'sepa_debit'],
      customer_creation: 'always',
      after_completion: { type: 'hosted_confirmation' },
    });
    expect(link.id).toMatch(/^plink_/);
    expect(link.url).toBe(`${h.emu.url}/pay/${link.id}`);
    expect(link.line_items).toBeUndefined();

    const fetched = await stripe.paymentLinks.retrieve(link.id, { expand: ['line_items'] });
    expect(fetched.line_items?.data).toHaveLength(1);
    expect(fetched.line_items?.data[0]).toMatchObject({
      object: 'item',
      amount_total: 2_500_000,
      currency: 'eur',
      description: 'Anzahlung MORELO Palace 90G',
      quantity: 1,
      price: { id: price.id },
    });
    const items = await stripe.paymentLinks.listLineItems(link.id);
    expect(items.data.map((li) => li.price?.id)).toEqual([price.id]);

    const deactivated = await stripe.paymentLinks.update(link.id, {
      active: false,
      metadata: { note: 'paid elsewhere' },
    });
    expect(deactivated).toMatchObject({
      active: false,
      metadata: { contract: 'K-1001', note: 'paid elsewhere' },
    });
    const inactive = await stripe.paymentLinks.list({ active: false });
    expect(inactive.data.map((l) => l.id)).toContain(link.id);
    const active = await stripe.paymentLinks.list({ active: true });
    expect(active.data.map((l) => l.id)).not.toContain(link.id);

    await expectEvents(['payment_link.created', 'payment_link.updated']);
    const updated = receiver.ofType('payment_link.updated')[0]!.event;
    expect(updated.data.previous_attributes).toMatchObject({ active: true });
  });

  it('takes price_data with product_data and answers Stripe-style 400s', async () => {
    const link = await stripe.paymentLinks.create({
      line_items: [
        {
          price_data: {
            currency: 'eur',
            unit_amount: 150_000,
            product_data: { name: 'Reservierung Empire Liner' },
          },
          quantity: 2,
        },
      ],
      after_completion: { type: 'redirect', redirect: { url: 'https://haendler.example/danke' } },
    });
    const items = await stripe.paymentLinks.listLineItems(link.id);
    expect(items.data[0]).toMatchObject({
      amount_total: 300_000,
      description: 'Reservierung Empire Liner',
      quantity: 2,
    });
    expect(link.after_completion).toEqual({
      type: 'redirect',
      redirect: { url: 'https://haendler.example/danke' },
    });

    await expect(stripe.paymentLinks.create({ line_items: [] })).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
    });
    await expect(
      stripe.paymentLinks.create({ line_items: [{ price: 'price_missing', quantity: 1 }] }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'line_items[0][price]' });
    await expect(
      stripe.paymentLinks.create({
        line_items: [{ price: 'price_x', quantity: 1 }],
        bogus: 1,
      } as unknown as Stripe.PaymentLinkCreateParams),
    ).rejects.toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'bogus' });
    await expect(stripe.paymentLinks.retrieve('plink_nope')).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
  });

  it("puts the link's metadata on the session and only payment_intent_data.metadata on the PaymentIntent", async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      metadata: { contract: 'K-2002', dealer: 'D-7' },
      payment_intent_data: { metadata: { contract: 'K-2002' }, description: 'Anzahlung K-2002' },
    });
    await newEvents();
    const done = await completeOk({
      link: link.id,
      outcome: 'card',
      email: 'kaeufer@example.com',
      name: 'Erika Muster',
    });
    expect(done.session).toMatchObject({
      payment_link: link.id,
      metadata: { contract: 'K-2002', dealer: 'D-7' },
      status: 'complete',
      payment_status: 'paid',
      amount_total: 2_500_000,
      customer_details: { email: 'kaeufer@example.com', name: 'Erika Muster' },
    });
    const pi = await stripe.paymentIntents.retrieve(done.session.payment_intent as string);
    expect(pi.metadata).toEqual({ contract: 'K-2002' });
    expect(pi).toMatchObject({
      status: 'succeeded',
      amount: 2_500_000,
      currency: 'eur',
      description: 'Anzahlung K-2002',
    });

    const listed = await stripe.checkout.sessions.list({ payment_link: link.id });
    expect(listed.data.map((s) => s.id)).toEqual([done.session.id]);
    const items = await stripe.checkout.sessions.listLineItems(done.session.id);
    expect(items.data[0]).toMatchObject({
      description: 'Anzahlung MORELO Palace 90G',
      amount_total: 2_500_000,
    });
  });

  it('refuses a second payment once completed_sessions.limit is reached, and the page says so', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      restrictions: { completed_sessions: { limit: 1 } },
    });
    const before = await fetch(link.url);
    expect(before.status).toBe(200);
    expect(await before.text()).toContain('Mit Karte bezahlen');

    await completeOk({ link: link.id, outcome: 'card' });
    const after = await stripe.paymentLinks.retrieve(link.id);
    expect(after.restrictions?.completed_sessions).toEqual({ count: 1, limit: 1 });

    const second = await complete({ link: link.id, outcome: 'card' });
    expect(second.status).toBe(400);
    expect(second.json.error).toMatchObject({ type: 'invalid_request_error' });
    const page = await (await fetch(link.url)).text();
    expect(page).toContain('nicht mehr aktiv');
    expect(page).not.toContain('Mit Karte bezahlen');
    expect(
      (await stripe.checkout.sessions.list({ payment_link: link.id, status: 'complete' })).data,
    ).toHaveLength(1);
  });

  it('a deactivated link cannot be paid', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      inactive_message: 'Bitte wenden Sie sich an Ihren Händler.',
    });
    await stripe.paymentLinks.update(link.id, { active: false });
    const page = await (await fetch(link.url)).text();
    expect(page).toContain('Bitte wenden Sie sich an Ihren Händler.');
    const res = await complete({ link: link.id, outcome: 'card' });
    expect(res.status).toBe(400);
    expect((await stripe.checkout.sessions.list({ payment_link: link.id })).data).toHaveLength(0);
  });
});

describe('paying through the hosted checkout', () => {
  it('card: complete and paid, with exactly these events', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    await newEvents();
    const done = await completeOk({ link: link.id, outcome: 'card' });
    expect(done.session).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      url: null,
      customer: null,
    });
    expect(done.payment_intent).toMatchObject({ status: 'succeeded' });
    expect(done.redirect_url).toBeNull();
    await expectEvents(['payment_intent.created', 'payment_intent.succeeded', 'checkout.session.completed']);
    const completed = receiver.ofType('checkout.session.completed')[0]!.event.data
      .object as Stripe.Checkout.Session;
    expect(completed).toMatchObject({ id: done.session.id, payment_status: 'paid', payment_link: link.id });

    // Without a redirect the page's post lands on the hosted confirmation.
    const viaPage = await fetch(link.url, { method: 'POST', body: new URLSearchParams({ outcome: 'card' }) });
    expect(viaPage.url).toMatch(/\/c\/pay\/cs_test_/);
    expect(await viaPage.text()).toContain('Vielen Dank! Ihre Zahlung über 25.000,00');
    await newEvents();
  });

  it('customer_creation always creates the customer before the payment', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      customer_creation: 'always',
    });
    await newEvents();
    const done = await completeOk({
      link: link.id,
      outcome: 'card',
      email: 'neu@example.com',
      name: 'Neu Kunde',
    });
    const customer = await stripe.customers.retrieve(done.session.customer as string);
    expect(customer).toMatchObject({ email: 'neu@example.com', name: 'Neu Kunde' });
    expect(done.payment_intent?.customer).toBe(customer.id);
    await expectEvents([
      'customer.created',
      'payment_intent.created',
      'payment_intent.succeeded',
      'checkout.session.completed',
    ]);
  });

  it('declined card: the session stays open, no completed event, a retry on the same session succeeds', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    await newEvents();
    const declined = await completeOk({ link: link.id, outcome: 'card_declined' });
    expect(declined.session).toMatchObject({ status: 'open', payment_status: 'unpaid' });
    expect(declined.error).toMatchObject({ message: expect.stringContaining('declined') });
    expect(declined.payment_intent).toMatchObject({ status: 'requires_payment_method' });
    expect(declined.redirect_url).toBeNull();
    await expectEvents(['payment_intent.created', 'payment_intent.payment_failed']);

    const page = await (await fetch(declined.session.url!)).text();
    expect(page).toContain('Mit Karte bezahlen');

    // The page's own decline: the form comes back with the message and now posts to the session.
    const viaPage = await fetch(link.url, {
      method: 'POST',
      body: new URLSearchParams({ outcome: 'card_declined', email: 'b@example.com', name: 'B' }),
      redirect: 'manual',
    });
    expect(viaPage.status).toBe(402);
    const html = await viaPage.text();
    expect(html).toContain('Zahlung fehlgeschlagen');
    expect(html).toMatch(/action="\/c\/pay\/cs_test_/);
    // Abandoned: expire it now, or it would expire (and fire) during another test's clock advance.
    const [abandoned] = (await stripe.checkout.sessions.list({ payment_link: link.id, status: 'open' })).data;
    await stripe.checkout.sessions.expire(abandoned!.id);
    await newEvents();

    const retry = await completeOk({ session: declined.session.id, outcome: 'card' });
    expect(retry.session).toMatchObject({ status: 'complete', payment_status: 'paid' });
    expect(retry.payment_intent?.id).toBe(declined.payment_intent?.id);
    await expectEvents(['payment_intent.succeeded', 'checkout.session.completed']);
  });

  it('SEPA success: completed unpaid, then async_payment_succeeded once the debit settles', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    await newEvents();
    const done = await completeOk({ link: link.id, outcome: 'sepa_success', name: 'Erika Muster' });
    expect(done.session).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
    expect(done.payment_intent).toMatchObject({ status: 'processing' });
    await expectEvents(['payment_intent.created', 'payment_intent.processing', 'checkout.session.completed']);

    await h.emu.advance(3 * 86_400);
    await expectEvents(['payment_intent.succeeded', 'checkout.session.async_payment_succeeded']);
    const session = await stripe.checkout.sessions.retrieve(done.session.id);
    expect(session).toMatchObject({ status: 'complete', payment_status: 'paid' });
  });

  it('SEPA failure: completed unpaid, then async_payment_failed', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    await newEvents();
    const done = await completeOk({ link: link.id, outcome: 'sepa_failure' });
    await expectEvents(['payment_intent.created', 'payment_intent.processing', 'checkout.session.completed']);
    await h.emu.advance(3 * 86_400);
    await expectEvents(['payment_intent.payment_failed', 'checkout.session.async_payment_failed']);
    const session = await stripe.checkout.sessions.retrieve(done.session.id);
    expect(session).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
    const pi = await stripe.paymentIntents.retrieve(done.session.payment_intent as string);
    expect(pi.status).toBe('requires_payment_method');
  });

  it('redirects to the link redirect URL with the session id filled in', async () => {
    const price = await palacePrice();
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: price.id, quantity: 1 }],
      after_completion: {
        type: 'redirect',
        redirect: { url: 'https://haendler.example/danke?session={CHECKOUT_SESSION_ID}' },
      },
    });
    const done = await completeOk({ link: link.id, outcome: 'card' });
    expect(done.redirect_url).toBe(`https://haendler.example/danke?session=${done.session.id}`);

    // The page's own form post answers with a 303 to the same place.
    const res = await fetch(link.url, {
      method: 'POST',
      body: new URLSearchParams({ outcome: 'card', email: 'a@example.com', name: 'A' }),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^https:\/\/haendler\.example\/danke\?session=cs_test_/);
  });
});

describe('checkout sessions', () => {
  it('payment mode with customer, success_url and payment_intent_data; expire', async () => {
    const customer = await stripe.customers.create({ email: 'kunde@example.com', name: 'Karl Kunde' });
    const price = await palacePrice(1_000_000);
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: 'https://haendler.example/ok/{CHECKOUT_SESSION_ID}',
      cancel_url: 'https://haendler.example/abbruch',
      metadata: { contract: 'K-3003' },
      payment_intent_data: { metadata: { contract: 'K-3003' } },
    });
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 1_000_000,
      currency: 'eur',
      customer: customer.id,
      payment_intent: null,
      payment_link: null,
      payment_method_types: ['card', 'sepa_debit'],
      ui_mode: 'hosted_page',
    });
    expect(session.url).toBe(`${h.emu.url}/c/pay/${session.id}`);
    expect(session.id).toMatch(/^cs_test_/);

    const done = await completeOk({ session: session.id, outcome: 'card' });
    expect(done.redirect_url).toBe(`https://haendler.example/ok/${session.id}`);
    expect(done.payment_intent).toMatchObject({ customer: customer.id, metadata: { contract: 'K-3003' } });
    expect(
      (await stripe.checkout.sessions.list({ customer: customer.id, status: 'complete' })).data,
    ).toHaveLength(1);

    const other = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price: price.id, quantity: 1 }],
    });
    await newEvents();
    const expired = await stripe.checkout.sessions.expire(other.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    await expectEvents(['checkout.session.expired']);
    await expect(stripe.checkout.sessions.expire(other.id)).rejects.toMatchObject({ statusCode: 400 });
    expect((await complete({ session: other.id, outcome: 'card' })).status).toBe(400);
  });

  it('open sessions expire by themselves after 24 hours', async () => {
    const price = await palacePrice();
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price: price.id, quantity: 1 }],
    });
    await newEvents();
    await h.emu.advance(86_400);
    await expectEvents(['checkout.session.expired']);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
  });

  it('rejects payment_method_types (removed in endive) and other bad params', async () => {
    const price = await palacePrice();
    await expect(
      stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [{ price: price.id, quantity: 1 }],
        // The SDK no longer types it; code written for older API versions still sends it.
        payment_method_types: ['card'],
      } as unknown as Stripe.Checkout.SessionCreateParams),
    ).rejects.toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'payment_method_types' });
    await expect(
      stripe.checkout.sessions.create({ line_items: [{ price: price.id, quantity: 1 }] }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'mode' });
    await expect(stripe.checkout.sessions.create({ mode: 'payment' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'line_items',
    });
    await expect(stripe.checkout.sessions.create({ mode: 'setup' })).rejects.toMatchObject({
      statusCode: 400,
      param: 'currency',
    });
    const cardOnly = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price: price.id, quantity: 1 }],
      allowed_payment_method_types: ['card'],
    });
    expect(cardOnly.payment_method_types).toEqual(['card']);
    expect((await complete({ session: cardOnly.id, outcome: 'sepa_success' })).status).toBe(400);
  });

  it('setup mode saves a SEPA payment method on the customer', async () => {
    const customer = await stripe.customers.create({ email: 'raten@example.com', name: 'Rita Rate' });
    await newEvents();
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'eur',
      success_url: 'https://haendler.example/mandat/{CHECKOUT_SESSION_ID}',
    });
    expect(session).toMatchObject({
      mode: 'setup',
      status: 'open',
      payment_status: 'no_payment_required',
      amount_total: null,
      currency: 'eur',
    });
    expect(session.setup_intent).toMatch(/^seti_/);
    await expectEvents(['setup_intent.created']);

    const page = await (await fetch(session.url!)).text();
    expect(page).toContain('SEPA-Mandat erteilen');
    expect(page).toContain('Karte hinterlegen');

    const done = await completeOk({ session: session.id, outcome: 'sepa_success', name: 'Rita Rate' });
    expect(done.session).toMatchObject({ status: 'complete', payment_status: 'no_payment_required' });
    expect(done.redirect_url).toBe(`https://haendler.example/mandat/${session.id}`);
    await expectEvents(['payment_method.attached', 'setup_intent.succeeded', 'checkout.session.completed']);

    const si = await stripe.setupIntents.retrieve(session.setup_intent as string);
    expect(si).toMatchObject({ status: 'succeeded', customer: customer.id, usage: 'off_session' });
    const pms = await stripe.customers.listPaymentMethods(customer.id);
    expect(pms.data.map((pm) => pm.id)).toEqual([si.payment_method]);
    expect(pms.data[0]).toMatchObject({ type: 'sepa_debit', sepa_debit: { last4: '3000' } });
  });

  it('setup mode with a declined card fails the SetupIntent and keeps the session open', async () => {
    const customer = await stripe.customers.create({ email: 'karte@example.com' });
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'eur',
    });
    await newEvents();
    const declined = await completeOk({ session: session.id, outcome: 'card_declined' });
    expect(declined.session.status).toBe('open');
    expect(declined.setup_intent).toMatchObject({ status: 'requires_payment_method' });
    await expectEvents(['setup_intent.setup_failed']);
    expect((await stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(0);

    const ok = await completeOk({ session: session.id, outcome: 'card' });
    expect(ok.session.status).toBe('complete');
    expect(ok.redirect_url).toBeNull();
    await expectEvents(['payment_method.attached', 'setup_intent.succeeded', 'checkout.session.completed']);
  });

  it('the helper route needs an API key and valid params', async () => {
    const noKey = await fetch(`${h.emu.url}/_emulator/checkout/complete`, { method: 'POST' });
    expect(noKey.status).toBe(401);
    const bad = await complete({ link: 'plink_x', outcome: 'bitcoin' });
    expect(bad.status).toBe(400);
    expect((await complete({ outcome: 'card' })).status).toBe(400);
  });
});
