/** The base-rate table through the API: read, extended by the admin, used by the next letter's interest. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDunning } from '../../src/dunning/scheduler.ts';
import { type BusinessDate, berlinStartOfDay } from '../../src/platform/dates.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { days, depsOf, expectedInterest, insertBuyer, insertOpenInvoice } from './service-fixtures.ts';

describe('base-rate table through the API', () => {
  let t: TestApp;
  let deps: ServiceDeps;
  let dealer: Awaited<ReturnType<TestApp['createDealer']>>;

  beforeAll(async () => {
    t = await createTestApp();
    deps = depsOf(t);
    dealer = await t.createDealer('Reisemobile Mitte');
  });
  afterAll(() => t.close());

  const url = '/api/payments/dunning/base-rates';
  const put = (payload: unknown, headers = t.admin) =>
    t.app.inject({ method: 'PUT', url, headers, payload: payload as object });
  async function runOn(day: BusinessDate) {
    t.clock.set(berlinStartOfDay(day) + 8 * 3_600_000);
    await runDunning(deps, day);
    await t.app.outbox.drain();
  }

  it('is read and validated; published rates stay; dealers may not touch it', async () => {
    const shipped = await t.app.inject({ url, headers: t.admin });
    expect(shipped.statusCode).toBe(200);
    expect(shipped.json()).toMatchObject({ source: 'default', knownUntil: '2026-07-01' });
    expect(shipped.json().entries).toHaveLength(7);
    expect((await t.app.inject({ url, headers: dealer.auth })).statusCode).toBe(403);

    const entries = shipped.json().entries as { from: string; ratePercent: number }[];
    expect((await put([...entries, { from: '2026-07-01', ratePercent: 2 }], dealer.auth)).statusCode).toBe(
      403,
    );

    const unsorted = await put([...entries, { from: '2025-12-01', ratePercent: 2 }]);
    expect(unsorted.statusCode).toBe(400);
    expect(unsorted.json().error).toMatchObject({ code: 'invalid_base_rate_table' });
    expect(unsorted.json().error.details.map((d: { field: string }) => d.field)).toContain('body.7.from');

    const typo = await put([...entries, { from: '2026-07-01', ratePercent: 202 }]);
    expect(typo.statusCode).toBe(400);
    expect(typo.json().error.details.map((d: { field: string }) => d.field)).toContain('body.7.ratePercent');

    const rewritten = entries.map((e) => (e.from === '2025-01-01' ? { ...e, ratePercent: 0 } : e));
    const history = await put(rewritten);
    expect(history.statusCode).toBe(400);
    expect(history.json().error.details).toContainEqual({
      field: 'body.4',
      message: 'the published rate from 2025-01-01 is 2.27 %',
    });
    expect((await t.app.inject({ url, headers: t.admin })).json().source).toBe('default');
  });

  it('a half-year added through the API changes the interest of the next letter', async () => {
    const buyer = await insertBuyer(t, dealer.id, 'consumer', 'Bernd Basiszins');
    const invoiceId = await insertOpenInvoice(t, {
      dealerId: dealer.id,
      buyerId: buyer,
      amount: 100_000,
      dueDate: '2026-06-01' as BusinessDate,
    });
    // Zahlungserinnerung (day 7) and 1. Mahnung (day 21) lie inside the known table.
    for (const day of days('2026-06-02' as BusinessDate, '2026-07-05' as BusinessDate)) await runOn(day);
    const list = await t.app.inject({ url: '/api/payments/dunning?limit=100', headers: dealer.auth });
    const caseId = list.json().data.find((c: { invoice: { id: string } }) => c.invoice.id === invoiceId).id;

    // On 6 July the table ends: the claim uses the last rate and says so.
    t.clock.set(berlinStartOfDay('2026-07-06' as BusinessDate) + 7 * 3_600_000);
    const before = (
      await t.app.inject({ url: `/api/payments/dunning/${caseId}`, headers: dealer.auth })
    ).json();
    expect(before.claim.interest.flags).toEqual(['base_rate_beyond_table']);
    expect(before.claim.interest.periods.at(-1)).toMatchObject({ from: '2026-07-01', baseRatePercent: 1.27 });

    const entries = (await t.app.inject({ url, headers: t.admin })).json().entries;
    const extended = await put([...entries, { from: '2026-07-01', ratePercent: 2.02 }]);
    expect(extended.statusCode).toBe(200);
    expect(extended.json()).toMatchObject({
      source: 'configured',
      updatedBy: 'admin',
      knownUntil: '2027-01-01',
    });

    // The 2. Mahnung (day 35) charges 2 June–30 June at 1.27 + 5 and 1–6 July at 2.02 + 5, nothing flagged.
    await runOn('2026-07-06' as BusinessDate);
    const after = (
      await t.app.inject({ url: `/api/payments/dunning/${caseId}`, headers: dealer.auth })
    ).json();
    const letter = after.letters.find((l: { level: number }) => l.level === 3);
    const expected = expectedInterest(100_000, 627, 29) + expectedInterest(100_000, 702, 6);
    expect(letter.interest).toBe(expected);
    expect(letter.interest).not.toBe(before.claim.interest.total);
    expect(after.claim.interest.flags).toEqual([]);
    expect(after.claim.interest.periods.at(-1)).toMatchObject({ from: '2026-07-01', baseRatePercent: 2.02 });
  });
});
