import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

describe('POST /api/payments/financing/quote', () => {
  let t: TestApp;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;

  beforeAll(async () => {
    t = await createTestApp();
    dealer = await t.createDealer('Reisemobile Quote');
  });
  afterAll(() => t.close());

  const publicCase = {
    vehiclePrice: 5_000_000,
    downPayment: 0,
    termMonths: 120,
    nominalRatePercent: 14,
    balloonMode: 'separate',
    paymentTiming: 'end',
  };

  const quote = (payload: Record<string, unknown>, headers: Record<string, string> = dealer.auth) =>
    t.app.inject({ method: 'POST', url: '/api/payments/financing/quote', headers, payload });

  it('answers the public check values', async () => {
    const withBalloon = await quote({ ...publicCase, balloon: 3_000_000 });
    expect(withBalloon.statusCode).toBe(200);
    expect(withBalloon.json().monthlyRate).toBe(66_053);
    expect(withBalloon.json().schedule).toHaveLength(120);

    expect((await quote(publicCase)).json().monthlyRate).toBe(77_633);
    expect(
      (await quote({ ...publicCase, balloon: 3_000_000, paymentTiming: 'start' })).json().monthlyRate,
    ).toBe(65_292);

    const effective = async (rate: number) =>
      (await quote({ ...publicCase, termMonths: 60, nominalRatePercent: rate })).json().effectiveRatePercent;
    expect(await effective(5.99)).toBe(6.16);
    expect(await effective(5.83)).toBe(5.99);
    expect(await effective(3.92)).toBe(3.99);
  });

  it('gives due dates from firstPaymentDate, keeping its day', async () => {
    const res = await quote({ ...publicCase, termMonths: 3, firstPaymentDate: '2027-01-31' });
    expect(res.json().schedule.map((r: { dueDate: string }) => r.dueDate)).toEqual([
      '2027-01-31',
      '2027-02-28',
      '2027-03-31',
    ]);
  });

  it('is documented in OpenAPI with the plan routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    for (const path of [
      '/api/payments/financing/quote',
      '/api/payments/subscriptions',
      '/api/payments/subscriptions/{id}',
      '/api/payments/subscriptions/{id}/payoff',
      '/api/payments/subscriptions/{id}/cancel',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it('is open to every authenticated caller, and to nobody else', async () => {
    expect((await quote(publicCase, t.admin)).statusCode).toBe(200);
    expect((await quote(publicCase, {})).statusCode).toBe(401);
  });

  const rejected: Array<[string, Record<string, unknown>, string]> = [
    // Shape and ranges (zod)
    ['price not whole cents', { vehiclePrice: 100.5 }, 'body.vehiclePrice'],
    ['term 0', { termMonths: 0 }, 'body.termMonths'],
    ['term 121', { termMonths: 121 }, 'body.termMonths'],
    ['rate above 30 %', { nominalRatePercent: 31 }, 'body.nominalRatePercent'],
    ['unknown balloon mode', { balloonMode: 'halfway' }, 'body.balloonMode'],
    ['unknown timing', { paymentTiming: 'whenever' }, 'body.paymentTiming'],
    ['not a calendar day', { firstPaymentDate: '2027-02-30' }, 'body.firstPaymentDate'],
    ['negative fee', { fees: [{ amount: -1, financed: true }] }, 'body.fees.0.amount'],
    ['price missing', { vehiclePrice: undefined }, 'body.vehiclePrice'],
    // Across fields (calculateQuote's QuoteInputError)
    ['balloon as large as the loan', { balloon: 5_000_000 }, 'body.balloon'],
    ['down payment as large as the price', { downPayment: 5_000_000 }, 'body.downPayment'],
    ['fees at signing as large as the loan', { fees: [{ amount: 5_000_000, financed: false }] }, 'body.fees'],
    ['one month at month start', { termMonths: 1, paymentTiming: 'start' }, 'body.termMonths'],
  ];
  it.each(rejected)('rejects %s with 400 naming %s', async (_name, change, field) => {
    const res = await quote({ ...publicCase, ...change });
    expect(res.statusCode).toBe(400);
    const error = res.json().error;
    expect(error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('maps the maths’ own refusal to the catalogue’s error body', async () => {
    const res = await quote({ ...publicCase, balloon: 5_000_000 });
    expect(res.json()).toEqual({
      error: {
        code: 'invalid_financing_input',
        message: expect.stringContaining('balloon'),
        details: [{ field: 'body.balloon', message: 'must be less than the financed amount' }],
      },
    });
  });
});
