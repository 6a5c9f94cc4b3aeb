/**
 * Tenancy walk: every route with an object's id in its path, called with dealer A's key and dealer B's object,
 * answers 404 with the contract's error body — the same body as for an id that does not exist — and nothing of
 * B's; no list shows A one of B's rows. The routes come from the app's router, so a route added later is
 * walked too; one whose parameters are not in ROUTES below fails the test until someone says what they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, berlinDate } from '../../src/platform/dates.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { type AppRoute, openApiRoutes, paramsOf, routesOf } from './routes.ts';

type Dealer = Awaited<ReturnType<TestApp['createDealer']>>;

/** What a path parameter names. */
type Kind =
  | 'buyer'
  | 'invoice'
  | 'paymentLink'
  | 'plan'
  | 'dunningCase'
  | 'letterFile'
  | 'vehicle'
  | 'dealer'
  | 'debtorType'
  | 'webhookEvent';

interface RouteSpec {
  /** Parameter name → the kind of object it names. */
  params: Record<string, Kind>;
  /** A body that passes validation, so the answer comes from the lookup and not the schema. */
  body?: Record<string, unknown>;
  /**
   * `not_found`: a dealer route; another dealer's object must look like no object at all (404).
   * `admin_only`: refused to every dealer key (403) before any lookup, the same for any id.
   */
  expect: 'not_found' | 'admin_only';
}

const reason = { reason: 'Kulanz wegen Reklamation der Markise' };

/** Every route with a path parameter, keyed `METHOD path`. HEAD follows its GET. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /api/payments/customers/:id': { params: { id: 'buyer' }, expect: 'not_found' },
  'POST /api/payments/customers/:id/dunning-pause': {
    params: { id: 'buyer' },
    body: reason,
    expect: 'not_found',
  },
  'POST /api/payments/customers/:id/dunning-resume': {
    params: { id: 'buyer' },
    body: reason,
    expect: 'not_found',
  },
  'GET /api/payments/invoices/:id': { params: { id: 'invoice' }, expect: 'not_found' },
  'GET /api/payments/payment-links/:id': { params: { id: 'paymentLink' }, expect: 'not_found' },
  'GET /api/payments/vehicles/:vehicleId': { params: { vehicleId: 'vehicle' }, expect: 'not_found' },
  'GET /api/payments/subscriptions/:id': { params: { id: 'plan' }, expect: 'not_found' },
  'POST /api/payments/subscriptions/:id/payoff': { params: { id: 'plan' }, expect: 'not_found' },
  'POST /api/payments/subscriptions/:id/cancel': {
    params: { id: 'plan' },
    body: { reason: 'Käufer tritt vom Vertrag zurück' },
    expect: 'not_found',
  },
  'GET /api/payments/dunning/:id': { params: { id: 'dunningCase' }, expect: 'not_found' },
  'POST /api/payments/dunning/:id/pause': {
    params: { id: 'dunningCase' },
    body: reason,
    expect: 'not_found',
  },
  'POST /api/payments/dunning/:id/resume': {
    params: { id: 'dunningCase' },
    body: reason,
    expect: 'not_found',
  },
  'POST /api/payments/dunning/:id/escalate': {
    params: { id: 'dunningCase' },
    body: { action: 'collection', reason: 'Übergabe an Inkasso Muster' },
    expect: 'not_found',
  },
  'GET /api/payments/dunning/:id/letters/:letterFile': {
    params: { id: 'dunningCase', letterFile: 'letterFile' },
    expect: 'not_found',
  },
  'GET /api/payments/dunning/policies/:debtorType': {
    params: { debtorType: 'debtorType' },
    expect: 'admin_only',
  },
  'PUT /api/payments/dunning/policies/:debtorType': {
    params: { debtorType: 'debtorType' },
    body: { levelCount: 3 },
    expect: 'admin_only',
  },
  'PUT /api/payments/dunning/policies/:debtorType/dealers/:dealerId': {
    params: { debtorType: 'debtorType', dealerId: 'dealer' },
    body: { levelCount: 3 },
    expect: 'admin_only',
  },
  'DELETE /api/payments/dunning/policies/:debtorType/dealers/:dealerId': {
    params: { debtorType: 'debtorType', dealerId: 'dealer' },
    expect: 'admin_only',
  },
  'POST /api/admin/webhook-events/:eventId/replay': {
    params: { eventId: 'webhookEvent' },
    expect: 'admin_only',
  },
};

/** Kinds that are no dealer's object: the same value stands for "theirs" and "made up". */
const SHARED_KINDS: ReadonlySet<Kind> = new Set(['debtorType']);

/** Values that exist nowhere, shaped like the real ones. */
const MADE_UP: Record<Kind, string> = {
  buyer: 'byr_0000000000000000000000',
  invoice: 'inv_0000000000000000000000',
  paymentLink: 'plk_0000000000000000000000',
  plan: 'fin_0000000000000000000000',
  dunningCase: 'dun_0000000000000000000000',
  letterFile: 'dlt_00000000000000000000.pdf',
  vehicle: 'WMO00NOSUCHVIN0',
  dealer: 'dlr_0000000000000000000000',
  debtorType: 'consumer',
  webhookEvent: 'evt_0000000000000000000000',
};

const routeKey = (r: AppRoute) => `${r.method} ${r.path}`;
const specOf = (r: AppRoute): RouteSpec | undefined =>
  ROUTES[routeKey(r)] ?? (r.method === 'HEAD' ? ROUTES[`GET ${r.path}`] : undefined);
/** How a sent value may come back in an error message: as sent, or a letter's file name without `.pdf`. */
const echoesOf = (value: string) => [value, value.replace(/\.pdf$/, '')];
const fill = (path: string, values: Record<string, string>) =>
  path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(values[name] ?? `<${name}?>`));

interface Page {
  data: Array<Record<string, unknown>>;
  hasMore: boolean;
  nextCursor: string | null;
}

describe('tenancy: dealer A never reaches dealer B’s objects', () => {
  let t: TestApp;
  let a: Dealer;
  let b: Dealer;
  /** One object of every kind per dealer, by path-parameter kind. */
  const objects: Record<'a' | 'b', Partial<Record<Kind, string>>> = { a: {}, b: {} };
  /** Everything of B's that must never reach A: ids, Stripe ids, names, e-mail, numbers, urls. */
  const secretsOfB = new Set<string>();
  /** A's own ids, to check the lists filter rather than come back empty. */
  const idsOfA = new Set<string>();
  /** B's objects as B sees them before A walks (this also warms the caches with B's answers). */
  let before: Record<string, unknown>;

  const B_NAME = 'Caravan Geheim-Süd GmbH';
  const VIN_B = 'WMOBSECRET00001';
  const VIN_A = 'WMOAOWN00000001';
  /** One motorhome both dealers have money on: A must see only its own. */
  const VIN_SHARED = 'WMOSHARED000001';

  const as = (dealer: Dealer) => ({
    get: (url: string) => t.app.inject({ url, headers: dealer.auth }),
    post: (url: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url, headers: { ...dealer.auth, ...headers }, payload }),
  });

  async function created<T = Record<string, unknown>>(
    res: Awaited<ReturnType<TestApp['app']['inject']>>,
    what: string,
  ): Promise<T> {
    if (res.statusCode !== 201) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
    return res.json() as T;
  }

  async function settle() {
    for (let round = 0; round < 3; round++) {
      await t.emulator.drainWebhooks();
      await t.app.inbox.drain();
    }
  }

  async function advanceDays(days: number) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/dev/advance-time',
      headers: t.admin,
      payload: { days },
    });
    if (res.statusCode !== 200) throw new Error(`advance-time: ${res.statusCode} ${res.body}`);
  }

  async function payByCard(stripePaymentLinkId: string) {
    const res = await fetch(`${t.emulator.url}/_emulator/checkout/complete`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk_test_tester', 'content-type': 'application/json' },
      body: JSON.stringify({ link: stripePaymentLinkId, outcome: 'card' }),
    });
    if (!res.ok) throw new Error(`checkout: ${res.status} ${await res.text()}`);
  }

  /** Every row of a list, following the cursor. */
  async function allRows(dealer: Dealer, url: string): Promise<Array<Record<string, unknown>>> {
    const rows: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const sep = url.includes('?') ? '&' : '?';
      const res = await as(dealer).get(
        `${url}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      const body = res.json() as Page;
      rows.push(...body.data);
      if (!body.hasMore) return rows;
      cursor = body.nextCursor;
    }
    throw new Error(`${url}: more than 50 pages`);
  }

  /** Creates one of everything for a dealer, through the API; returns the created bodies. */
  async function populate(dealer: Dealer, who: 'a' | 'b', vin: string, buyerName: string) {
    const api = as(dealer);
    const buyer = await created<{ id: string; stripeCustomerId: string }>(
      await api.post('/api/payments/customers', {
        name: buyerName,
        email: `${who}.kaeufer.${vin.toLowerCase()}@example.de`,
        address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
        buyerId: `BUYER-${vin}`,
        vehicleId: vin,
      }),
      `${who} buyer`,
    );
    await t.stripe.paymentMethods.attach('pm_card_visa', { customer: buyer.stripeCustomerId });
    // The remainder invoice stays unpaid: it becomes overdue and opens a dunning case.
    const invoice = await created<Record<string, unknown> & { id: string }>(
      await api.post('/api/payments/invoices', {
        customerId: buyer.id,
        vehicleId: vin,
        kind: 'remainder',
        amount: who === 'a' ? 3_000_000 : 18_000_000,
        description: `Restzahlung ${vin}`,
      }),
      `${who} invoice`,
    );
    const shared = await created<Record<string, unknown> & { id: string }>(
      await api.post('/api/payments/invoices', {
        customerId: buyer.id,
        vehicleId: VIN_SHARED,
        kind: 'other',
        amount: who === 'a' ? 11_100 : 22_200,
        description: 'Zubehör: Fahrradträger',
      }),
      `${who} shared-vehicle invoice`,
    );
    const link = await created<Record<string, unknown> & { id: string; stripePaymentLinkId: string }>(
      await api.post('/api/payments/payment-links', {
        amount: who === 'a' ? 1_000_000 : 2_500_000,
        vehicleModel: 'Palace 90G',
        vehicleId: vin,
        buyerEmail: `${who}.kaeufer.${vin.toLowerCase()}@example.de`,
        customerId: buyer.id,
      }),
      `${who} payment link`,
    );
    await payByCard(link.stripePaymentLinkId);
    const today = berlinDate(t.clock.now());
    const start = `${addMonths(today, 1).slice(0, 8)}01`;
    const plan = await created<Record<string, unknown> & { id: string }>(
      await api.post('/api/payments/subscriptions', {
        customerId: buyer.id,
        vehicleId: vin,
        vehicleModel: 'Empire Liner',
        monthlyRate: 150_000,
        startDate: start,
        durationMonths: 24,
      }),
      `${who} plan`,
    );
    Object.assign(objects[who], {
      buyer: buyer.id,
      invoice: invoice.id,
      paymentLink: link.id,
      plan: plan.id,
      vehicle: vin,
      dealer: dealer.id,
    });
    return { buyer, invoice, shared, link, plan };
  }

  /** Every string in a body (ids, names, e-mails, urls, Stripe ids, letter texts …). */
  function stringsIn(value: unknown, into = new Set<string>()): Set<string> {
    if (typeof value === 'string') into.add(value);
    else if (Array.isArray(value)) for (const v of value) stringsIn(v, into);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, into);
    return into;
  }

  /** A dealer's own view of its objects. */
  async function viewOf(dealer: Dealer, who: 'a' | 'b') {
    const api = as(dealer);
    const own = objects[who];
    const urls = {
      buyer: `/api/payments/customers/${own.buyer}`,
      invoice: `/api/payments/invoices/${own.invoice}`,
      paymentLink: `/api/payments/payment-links/${own.paymentLink}`,
      plan: `/api/payments/subscriptions/${own.plan}`,
      dunningCase: `/api/payments/dunning/${own.dunningCase}`,
      vehicle: `/api/payments/vehicles/${own.vehicle}`,
    };
    const view: Record<string, unknown> = {};
    for (const [kind, url] of Object.entries(urls)) {
      const res = await api.get(url);
      expect(res.statusCode, `${who} reads its own ${kind}: ${res.body}`).toBe(200);
      view[kind] = res.json();
    }
    return view;
  }

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    a = await t.createDealer('Reisemobile Nord Offen GmbH');
    b = await t.createDealer(B_NAME);

    const ofA = await populate(a, 'a', VIN_A, 'Anna Eigenkäuferin');
    const ofB = await populate(b, 'b', VIN_B, 'Bernd Geheimkäufer');
    await settle();

    // Both remainder invoices are due in 14 days; a week after that each has a dunning case with a letter.
    await advanceDays(14 + 8);
    await settle();
    for (const [who, dealer, invoiceId] of [
      ['a', a, ofA.invoice.id],
      ['b', b, ofB.invoice.id],
    ] as const) {
      const cases = await allRows(dealer, '/api/payments/dunning');
      const found = cases.find((c) => (c.invoice as { id: string }).id === invoiceId);
      if (!found) throw new Error(`${who}: no dunning case for ${invoiceId}: ${JSON.stringify(cases)}`);
      const detail = (await as(dealer).get(`/api/payments/dunning/${found.id}`)).json();
      const letter = detail.letters[0];
      if (!letter) throw new Error(`${who}: case ${found.id} has no letter: ${JSON.stringify(detail)}`);
      objects[who].dunningCase = String(found.id);
      objects[who].letterFile = `${letter.id}.pdf`;
    }
    const events = await t.app.inject({ url: '/api/admin/webhook-events?limit=1', headers: t.admin });
    objects.b.webhookEvent = events.json().data[0].eventId;
    objects.a.webhookEvent = objects.b.webhookEvent;

    for (const created of Object.values(ofA)) idsOfA.add(String(created.id));
    idsOfA.add(String(objects.a.dunningCase));

    objects.a.debtorType = 'consumer';
    objects.b.debtorType = 'consumer';

    // B's secrets: every string of B's objects that A's own objects do not have too (so no field names,
    // statuses, level names or the shared address), plus the dealer's name, id and key.
    before = await viewOf(b, 'b');
    const ofAStrings = stringsIn([await viewOf(a, 'a'), ofA, a]);
    for (const value of stringsIn([before, ofB, objects.b])) {
      if (value.length >= 6 && !ofAStrings.has(value)) secretsOfB.add(value.replace(/\.pdf$/, ''));
    }
    secretsOfB.add(B_NAME);
    secretsOfB.add(b.apiKey);
    secretsOfB.add(b.id);
    secretsOfB.add('Bernd Geheimkäufer');
    // Dates and timestamps are B's only by coincidence of the clock; the shared vehicle is both dealers'.
    for (const value of [...secretsOfB]) {
      if (/^\d{4}-\d{2}-\d{2}/.test(value) || value === VIN_SHARED) secretsOfB.delete(value);
    }
    expect(secretsOfB.size).toBeGreaterThan(20);
  }, 240_000);
  afterAll(() => t?.close());

  /** The first of B's secrets found in a text, outside the values A itself put in the request. */
  function leakIn(text: string, sentByA: readonly string[]): string | undefined {
    let scrubbed = text;
    for (const value of sentByA.flatMap(echoesOf)) scrubbed = scrubbed.replaceAll(value, '<sent>');
    return [...secretsOfB].find((secret) => scrubbed.includes(secret));
  }

  it('the route map covers exactly the app’s routes with path parameters', async () => {
    const routes = routesOf(t.app);
    // The router's list and the OpenAPI document agree, so the tree was read right.
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    const known = new Set(routes.map(routeKey));
    expect(openApiRoutes(doc).filter((r) => !known.has(routeKey(r)))).toEqual([]);

    const withParams = routes.filter((r) => paramsOf(r.path).length > 0);
    expect(withParams.length).toBeGreaterThanOrEqual(Object.keys(ROUTES).length);
    const unmapped = withParams
      .filter((r) => {
        const spec = specOf(r);
        return !spec || paramsOf(r.path).some((p) => !(p in spec.params));
      })
      .map(routeKey);
    expect(unmapped, 'routes with parameters of unknown kind: add them to ROUTES').toEqual([]);
    const stale = Object.keys(ROUTES).filter((key) => !known.has(key));
    expect(stale, 'ROUTES names routes the app no longer has').toEqual([]);
  });

  it('every route with an id answers A with a 404 for B’s object, the same as for no object, and nothing of B’s', async () => {
    const routes = routesOf(t.app).filter((r) => paramsOf(r.path).length > 0);
    const failures: string[] = [];
    let walked = 0;

    for (const route of routes) {
      const spec = specOf(route);
      if (!spec) {
        failures.push(`${routeKey(route)}: not in ROUTES`);
        continue;
      }
      const names = paramsOf(route.path);
      // Probes: B's object in every parameter; for two objects, B's in one and A's own in the other
      // (A's case with B's letter), so the lookup checks the pair, not just the first id.
      const variants: Array<{ label: string; ofB: string[] }> = [{ label: 'all of B', ofB: names }];
      if (spec.expect === 'not_found') {
        const objectParams = names.filter((n) => !SHARED_KINDS.has(spec.params[n] as Kind));
        if (objectParams.length > 1) {
          for (const n of objectParams) variants.push({ label: `B's ${n}, A's others`, ofB: [n] });
        }
      }

      for (const variant of variants) {
        const real: Record<string, string> = {};
        const fake: Record<string, string> = {};
        for (const n of names) {
          const kind = spec.params[n] as Kind;
          const mine = objects.a[kind];
          const theirs = objects.b[kind];
          if (!theirs || !mine) throw new Error(`no object of kind ${kind} for ${routeKey(route)}`);
          const useB = variant.ofB.includes(n);
          real[n] = useB ? theirs : mine;
          fake[n] = useB && !SHARED_KINDS.has(kind) ? MADE_UP[kind] : real[n];
        }
        const call = (values: Record<string, string>) =>
          t.app.inject({
            method: route.method as 'GET',
            url: fill(route.path, values),
            headers: a.auth,
            ...(spec.body ? { payload: spec.body } : {}),
          });
        const res = await call(real);
        const none = await call(fake);
        walked++;
        const where = `${route.method} ${fill(route.path, real)} (${variant.label})`;
        const wanted = spec.expect === 'not_found' ? 404 : 403;
        const code = spec.expect === 'not_found' ? 'not_found' : 'forbidden';

        if (res.statusCode !== wanted) {
          failures.push(`${where}: ${res.statusCode} (want ${wanted}) ${res.body.slice(0, 300)}`);
          continue;
        }
        if (none.statusCode !== wanted) {
          failures.push(`${where}: made-up id answered ${none.statusCode}, B's ${res.statusCode}`);
        }
        const sentByA = Object.values(real);
        const leak = leakIn(res.body, sentByA) ?? leakIn(JSON.stringify(res.headers), sentByA);
        if (leak)
          failures.push(`${where}: answer carries B's ${JSON.stringify(leak)}: ${res.body.slice(0, 300)}`);
        if (route.method === 'HEAD') continue;

        const body = res.json() as { error?: { code?: unknown; message?: unknown } };
        if (body.error?.code !== code || typeof body.error.message !== 'string') {
          failures.push(`${where}: not the contract's error body: ${res.body.slice(0, 300)}`);
        }
        // B's object and no object at all must be indistinguishable (only the echoed id differs).
        const normalise = (text: string, values: Record<string, string>) =>
          Object.entries(values).reduce(
            (s, [n, v]) => echoesOf(v).reduce((s2, echo) => s2.replaceAll(echo, `<${n}>`), s),
            text,
          );
        if (normalise(res.body, real) !== normalise(none.body, fake)) {
          failures.push(`${where}: differs from a made-up id's answer: ${res.body} vs ${none.body}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(walked).toBeGreaterThanOrEqual(Object.keys(ROUTES).length);

    // A's calls changed nothing of B's: no pause, cancel, payoff or escalation went through.
    const after = await viewOf(b, 'b');
    expect(after).toEqual(before);
    const audit = (after.dunningCase as { audit: Array<{ actor: string }> }).audit;
    expect(audit.filter((e) => e.actor === `dealer:${a.id}`)).toEqual([]);
  });

  it('lists show A only its own rows; admin-only lists refuse A', async () => {
    const failures: string[] = [];
    const lists = [
      '/api/payments/customers',
      '/api/payments/subscriptions',
      `/api/payments/subscriptions?customerId=${objects.b.buyer}`,
      '/api/payments/dunning',
      '/api/payments/dunning?status=open',
      '/api/payments/transactions',
    ];
    const seenOfA = new Set<string>();
    for (const url of lists) {
      const rows = await allRows(a, url);
      const text = JSON.stringify(rows);
      const leak = leakIn(text, url.includes('customerId=') ? [String(objects.b.buyer)] : []);
      if (leak) failures.push(`${url}: carries B's ${JSON.stringify(leak)}`);
      for (const row of rows) {
        if (typeof row.dealerId === 'string' && row.dealerId !== a.id) {
          failures.push(`${url}: a row of dealer ${row.dealerId}`);
        }
      }
      for (const id of idsOfA) if (text.includes(id)) seenOfA.add(id);
    }
    expect(failures).toEqual([]);
    // The lists are filtered, not empty: A's buyer, plan and case are in them.
    for (const kind of ['buyer', 'plan', 'dunningCase'] as const) {
      expect(seenOfA, `A's own ${kind} in its lists`).toContain(objects.a[kind]);
    }
    expect(await allRows(a, `/api/payments/subscriptions?customerId=${objects.b.buyer}`)).toEqual([]);
    const transactions = await allRows(a, '/api/payments/transactions');
    expect(transactions.map((tx) => tx.vehicleId)).toContain(VIN_A);

    // A dealer's balance is its own ledger: A's paid link, none of B's money.
    const balance = await as(a).get('/api/payments/balance');
    expect(balance.statusCode).toBe(200);
    expect(balance.json()).toMatchObject({ scope: 'dealer', dealerId: a.id });
    expect(leakIn(balance.body, [])).toBeUndefined();
    // A was paid 1,000,000 by link and at most one 150,000 instalment; B 2,500,000 — none of it is A's.
    const ownOfA = balance.json().settled + balance.json().processing;
    expect(ownOfA).toBeGreaterThanOrEqual(1_000_000);
    expect(ownOfA).toBeLessThanOrEqual(1_150_000);
    const balanceOfB = (await as(b).get('/api/payments/balance')).json();
    expect(balanceOfB.settled + balanceOfB.processing).toBeGreaterThanOrEqual(2_500_000);

    // The motorhome both have an invoice on: A sees its own amount and none of B's.
    const shared = await as(a).get(`/api/payments/vehicles/${VIN_SHARED}`);
    expect(shared.statusCode).toBe(200);
    expect(shared.json().totalAgreed).toBe(11_100);
    expect(leakIn(shared.body, [])).toBeUndefined();
    // Naming B as the dealer does not change what A sees.
    const named = await as(a).get(`/api/payments/vehicles/${VIN_SHARED}?dealerId=${b.id}`);
    expect(named.json().totalAgreed).toBe(11_100);
    expect(leakIn(named.body, [b.id])).toBeUndefined();

    // B's creditor data is not A's to read.
    const creditor = await as(a).get(`/api/payments/dunning/creditor-profile?dealerId=${b.id}`);
    expect(creditor.statusCode).toBeGreaterThanOrEqual(400);
    expect(leakIn(creditor.body, [b.id])).toBeUndefined();

    for (const url of [
      '/api/admin/letters',
      '/api/admin/webhook-events',
      '/api/admin/letters?status=queued',
    ]) {
      const res = await as(a).get(url);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
      expect(leakIn(res.body, [])).toBeUndefined();
    }
  });

  it('B’s buyer named in a body is no buyer to A: the same refusal as a made-up one, nothing created', async () => {
    const start = `${addMonths(berlinDate(t.clock.now()), 1).slice(0, 8)}01`;
    const creates: Array<[string, Record<string, unknown>]> = [
      [
        '/api/payments/invoices',
        { vehicleId: VIN_A, kind: 'other', amount: 50_000, description: 'Zubehör: Markise' },
      ],
      [
        '/api/payments/payment-links',
        { amount: 50_000, vehicleModel: 'Loft', vehicleId: VIN_A, buyerEmail: 'anna@example.de' },
      ],
      [
        '/api/payments/subscriptions',
        { vehicleId: VIN_A, vehicleModel: 'Loft', monthlyRate: 90_000, startDate: start, durationMonths: 12 },
      ],
    ];
    const buyerOfB = String(objects.b.buyer);
    for (const [url, payload] of creates) {
      const res = await as(a).post(url, { ...payload, customerId: buyerOfB });
      const none = await as(a).post(url, { ...payload, customerId: MADE_UP.buyer });
      expect(res.statusCode, `${url}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(500);
      expect(res.body.replaceAll(buyerOfB, '<id>')).toBe(none.body.replaceAll(MADE_UP.buyer, '<id>'));
      expect(leakIn(res.body, [buyerOfB]), url).toBeUndefined();
    }
    expect(await viewOf(b, 'b')).toEqual(before);
  });

  it('B’s buyer id and Idempotency-Key mean nothing to A: no conflict, no replay of B’s answer', async () => {
    const buyerOfB = (before.buyer as { buyerId: string }).buyerId;
    const sameBuyerId = await as(a).post('/api/payments/customers', {
      name: 'Anna Zweitkäuferin',
      email: 'anna.zwei@example.de',
      address: 'Hafenstraße 1, 20459 Hamburg',
      buyerId: buyerOfB,
      vehicleId: 'WMOAOWN00000002',
    });
    expect(sameBuyerId.statusCode).toBe(201);
    expect(leakIn(sameBuyerId.body, [buyerOfB])).toBeUndefined();

    const payload = {
      amount: 990_000,
      vehicleModel: 'Loft',
      vehicleId: 'WMOKEY000000001',
      buyerEmail: 'kunde@example.de',
    };
    const key = { 'idempotency-key': 'anzahlung-WMOKEY000000001' };
    const ofB = await as(b).post('/api/payments/payment-links', payload, key);
    expect(ofB.statusCode).toBe(201);
    const ofA = await as(a).post('/api/payments/payment-links', payload, key);
    expect(ofA.statusCode).toBe(201);
    expect(ofA.json().id).not.toBe(ofB.json().id);
    expect(ofA.body).not.toContain(ofB.json().id);
    expect(ofA.body).not.toContain(ofB.json().stripePaymentLinkId);
    expect((await as(a).get(`/api/payments/payment-links/${ofB.json().id}`)).statusCode).toBe(404);
  });
});
