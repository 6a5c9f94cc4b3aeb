/**
 * Benchmark 2: signed POST /webhooks/stripe stored in the inbox, and the inbox processor applying the stored events,
 * both against the signature check alone (what every delivery costs before any of our own work).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ne, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { SIGNATURE_TOLERANCE_SECONDS } from '../src/webhooks/receive.ts';
import { webhookInbox } from '../src/webhooks/schema.ts';
import { type Group, group, measure, measureSync, recordSamples, type Sample } from './harness.ts';
import { BENCH_WEBHOOK_SECRET, type BenchApp } from './setup.ts';

const signer = new Stripe('sk_test_x');

/** A signed delivery, prepared before the clock starts: signing is Stripe's work, not ours. */
interface Delivery {
  payload: string;
  signature: string;
}

/** Runs benchmark 2. */
export async function webhookBenchmark({ t, customerIds }: BenchApp): Promise<Group> {
  // A real customer object from the emulator, so the payload has the size and shape Stripe sends.
  const template = await t.stripe.customers.retrieve(customerIds[0]!);
  let sequence = 0;
  // customer.updated for our buyers, round robin: the handler looks the buyer up, re-fetches the customer from
  // Stripe (the emulator, over loopback HTTP), updates the row and invalidates the buyer's cache tags.
  const delivery = (): Delivery => {
    const n = sequence++;
    const customerId = customerIds[n % customerIds.length]!;
    const payload = JSON.stringify({
      id: `evt_bench_${n.toString().padStart(8, '0')}`,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(t.clock.now() / 1000),
      data: { object: { ...template, id: customerId } },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'customer.updated',
    });
    return {
      payload,
      signature: signer.webhooks.generateTestHeaderString({ payload, secret: BENCH_WEBHOOK_SECRET }),
    };
  };
  const post = async (d: Delivery) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': d.signature },
      payload: d.payload,
    });
    if (res.statusCode !== 200 || (res.json() as { duplicate: boolean }).duplicate) {
      throw new Error(`webhook not stored as new: ${res.statusCode} ${res.body}`);
    }
  };
  const dropLogs = () => {
    t.logLines.length = 0;
  };

  const sample = delivery();
  const raw = Buffer.from(sample.payload);
  const verify = await measureSync({
    name: 'signature check alone: constructEvent (baseline)',
    warmup: 2_000,
    samples: 7,
    opsPerSample: 5_000,
    // Tens of microseconds per call: timed in tens so the timer's own cost stays out.
    batch: 10,
    op: () =>
      Stripe.webhooks.constructEvent(
        raw,
        sample.signature,
        BENCH_WEBHOOK_SECRET,
        SIGNATURE_TOLERANCE_SECONDS,
      ),
    note: `${raw.length} B payload`,
  });

  const ingestSizes = { warmup: 50, samples: 7, opsPerSample: 150 };
  const prepared = Array.from(
    { length: ingestSizes.warmup + ingestSizes.samples * ingestSizes.opsPerSample },
    () => delivery(),
  );
  const ingest = await measure({
    name: 'ingest: signed POST /webhooks/stripe → inbox row',
    ...ingestSizes,
    before: dropLogs,
    op: (i) => post(prepared[i]!),
    note: 'verify + insert + 200, one at a time',
  });
  // The ingest left its rows pending; removing them (untimed) lets each drain sample below apply a known batch
  // instead of first working through a thousand leftovers.
  await t.database.db.delete(webhookInbox);

  const perDrain = 100;
  const drainSample = async (): Promise<Sample> => {
    for (let i = 0; i < perDrain; i++) {
      await post(delivery());
      await nextTurn();
    }
    dropLogs();
    const start = process.hrtime.bigint();
    await t.app.inbox.drain();
    await nextTurn(); // deferred clean-up, as in measure()
    const elapsedNs = process.hrtime.bigint() - start;
    // Per-event latency is not visible from outside the processor; each event gets its batch's average.
    return { ops: perDrain, elapsedNs, latenciesNs: Array(perDrain).fill(Number(elapsedNs) / perDrain) };
  };
  await drainSample();
  const drain = await recordSamples(
    {
      name: `inbox drain: apply ${perDrain} customer.updated`,
      samples: 5,
      note: 'p50/p95 over batch averages',
    },
    drainSample,
  );
  const [notDone] = await t.database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(webhookInbox)
    .where(ne(webhookInbox.status, 'succeeded'));
  if ((notDone?.n ?? 0) !== 0) throw new Error(`${notDone?.n} inbox events were not applied`);

  return group(
    '2. Webhooks: POST /webhooks/stripe and the inbox',
    verify,
    [ingest, drain],
    [
      `Ingest stores ${Math.round(ingest.opsPerSecond)} events/s one at a time; the processor applies ` +
        `${Math.round(drain.opsPerSecond)} events/s (each re-fetches the customer from the emulator over HTTP).`,
    ],
  );
}
