/**
 * Benchmark 1: GET /api/payments/customers?limit=100 through inject, served from the read cache against the same
 * handler with its cache tag invalidated before every call; and a burst of concurrent cold requests, which the
 * cache's single-flight should turn into one database load.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BUYERS } from '../src/customers/service.ts';
import { tags } from '../src/platform/tenancy.ts';
import { type Group, group, measure, recordSamples, type Sample } from './harness.ts';
import { type BenchApp, BUYER_COUNT } from './setup.ts';

/** How many requests arrive at once in the single-flight burst. */
const BURST = 50;

/** Runs benchmark 1. */
export async function cacheBenchmark({ t, dealer }: BenchApp): Promise<Group> {
  const listTag = tags.dealer(BUYERS, dealer.id);
  const invalidate = () => t.cache.invalidateTags([listTag]);
  // The test logger keeps every line in memory; emptying it (untimed) keeps that buffer out of the memory figures.
  const dropLogs = () => {
    t.logLines.length = 0;
  };
  const list = async (expected: 'hit' | 'miss') => {
    const res = await t.app.inject({ url: '/api/payments/customers?limit=100', headers: dealer.auth });
    // A wrong answer would make the timing meaningless, so each reply is checked (cheaply) in both cases.
    if (res.statusCode !== 200 || res.headers['x-cache'] !== expected) {
      throw new Error(`expected a ${expected}, got ${res.statusCode} ${String(res.headers['x-cache'])}`);
    }
    return res;
  };
  // Creating the buyers invalidated the list, so the first read loads it.
  const first = await list('miss');
  const count = (first.json() as { data: unknown[] }).data.length;
  if (count !== BUYER_COUNT) throw new Error(`expected ${BUYER_COUNT} buyers in the list, got ${count}`);

  const sizes = { warmup: 50, samples: 7, opsPerSample: 150 };
  const uncached = await measure({
    name: 'uncached: tag invalidated before each call (baseline)',
    ...sizes,
    before: async () => {
      dropLogs();
      await invalidate();
    },
    op: () => list('miss'),
    note: 'invalidation itself untimed',
  });
  // The baseline's last call stored the list, so from here on it is a hit.
  const cached = await measure({
    name: 'cached: hit',
    ...sizes,
    opsPerSample: 300,
    before: dropLogs,
    op: () => list('hit'),
  });

  // The burst: BURST requests start together after an invalidation. Each request's own latency is recorded;
  // throughput is BURST ÷ the time until the last one answered.
  const loadsPerBurst: number[] = [];
  const burst = async (): Promise<Sample> => {
    dropLogs();
    await invalidate();
    const loadsBefore = t.cache.stats().loads;
    const start = process.hrtime.bigint();
    const latenciesNs = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const res = await t.app.inject({ url: '/api/payments/customers?limit=100', headers: dealer.auth });
        if (res.statusCode !== 200) throw new Error(`burst request failed: ${res.statusCode}`);
        return Number(process.hrtime.bigint() - start);
      }),
    );
    await nextTurn(); // the responses' deferred clean-up, as in measure()
    const elapsedNs = process.hrtime.bigint() - start;
    loadsPerBurst.push(t.cache.stats().loads - loadsBefore);
    return { ops: BURST, elapsedNs, latenciesNs };
  };
  for (let w = 0; w < 3; w++) await burst();
  loadsPerBurst.length = 0;
  const cold = await recordSamples(
    {
      name: `${BURST} concurrent cold requests`,
      samples: 9,
      note: 'latency from the burst start; ops/s = 50 ÷ burst time',
    },
    burst,
  );

  const distinct = [...new Set(loadsPerBurst)].sort((a, b) => a - b);
  return group(
    '1. Read cache: GET /api/payments/customers?limit=100',
    uncached,
    [cached, cold],
    [
      `Single-flight: ${BURST} concurrent cold requests caused ${distinct.join(' or ')} load(s) per burst ` +
        `(${loadsPerBurst.length} bursts: ${loadsPerBurst.join(', ')}); without it every request would load (${BURST}).`,
    ],
  );
}
