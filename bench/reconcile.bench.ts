/**
 * Benchmark 5: one reconciliation run. The baseline compares every invoice with Stripe (the first run of the day,
 * or `?full=true`); the case is an ordinary run, which compares only invoices still waiting for money and those
 * changed since the previous run. Both list Stripe's events since the checkpoint first.
 */
import { reconcile } from '../src/reconciliation/service.ts';
import { type Group, group, measure } from './harness.ts';
import type { BenchApp } from './setup.ts';

/** Invoices of the bench dealer; all but OPEN_INVOICES get paid. */
const INVOICES = 150;
const OPEN_INVOICES = 10;

/** Runs benchmark 5. */
export async function reconcileBenchmark({ t, dealer, customerIds }: BenchApp): Promise<Group> {
  const buyers = (
    await t.app.inject({ url: '/api/payments/customers?limit=100', headers: dealer.auth })
  ).json() as { data: { id: string; vehicleId: string }[] };
  for (let i = 0; i < INVOICES; i++) {
    const buyer = buyers.data[i % buyers.data.length]!;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/invoices',
      headers: dealer.auth,
      payload: {
        customerId: buyer.id,
        vehicleId: buyer.vehicleId,
        kind: 'down_payment',
        amount: 500_000 + i,
        description: `Anzahlung ${i}`,
      },
    });
    if (res.statusCode !== 201) throw new Error(`invoice: ${res.statusCode} ${res.body}`);
    const { stripeInvoiceId } = res.json() as { stripeInvoiceId: string };
    if (i >= OPEN_INVOICES) await t.stripe.invoices.pay(stripeInvoiceId, { paid_out_of_band: true });
  }
  // The bench app receives no webhooks: a first run replays Stripe's events and applies them, as after an outage.
  const deps = t.app.services;
  const applyNow = () => t.app.inbox.drain();
  const first = await reconcile(deps, { applyNow, full: true });
  // An hour later (Stripe's clock and ours) something new happens at Stripe, and a run moves the checkpoint past
  // the set-up: from now on the event list covers only the last minutes, as in a service that has been running.
  await t.emulator.advance(3_600);
  t.clock.set(t.emulator.now() * 1000);
  await t.stripe.customers.update(customerIds[0]!, { metadata: { bench: 'later' } });
  await reconcile(deps, { applyNow, full: true });
  const dropLogs = () => {
    t.logLines.length = 0;
  };

  let fullChecked = 0;
  const full = await measure({
    name: `full run: every invoice compared (baseline)`,
    warmup: 1,
    samples: 5,
    opsPerSample: 1,
    before: dropLogs,
    op: async () => {
      fullChecked = (await reconcile(deps, { applyNow, full: true })).invoicesChecked;
    },
    note: `${INVOICES} invoices, ${OPEN_INVOICES} open`,
  });
  t.clock.advance(3_600_000);
  let incrementalChecked = 0;
  const incremental = await measure({
    name: 'ordinary run: open and recently changed only',
    warmup: 1,
    samples: 5,
    opsPerSample: 1,
    before: dropLogs,
    op: async () => {
      const report = await reconcile(deps, { applyNow });
      if (report.full) throw new Error('expected an incremental run');
      incrementalChecked = report.invoicesChecked;
    },
  });

  return group(
    '5. Reconciliation: POST /api/admin/reconcile',
    full,
    [incremental],
    [
      `The set-up run replayed ${first.eventsReplayed.length} missed events. A full run compares ${fullChecked} ` +
        `invoices with Stripe (one request each); an ordinary run ${incrementalChecked}, so its Stripe requests grow ` +
        'with what is outstanding, not with the history. Both first list the Stripe events since the checkpoint ' +
        '(less 10 minutes of overlap).',
    ],
  );
}
