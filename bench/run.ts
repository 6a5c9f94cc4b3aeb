/**
 * `npm run bench`: every benchmark against its baseline in the same run, a table on stdout, and this setup's
 * section of bench/RESULTS.md. DATABASE_URL / REDIS_URL switch the app to Postgres / Redis, as in the tests.
 */
import { fileURLToPath } from 'node:url';
import { cacheBenchmark } from './cache.bench.ts';
import type { Group } from './harness.ts';
import { interestBenchmark } from './interest.bench.ts';
import { quoteBenchmark } from './quote.bench.ts';
import { reconcileBenchmark } from './reconcile.bench.ts';
import { describeMachine, renderRun, writeResults } from './report.ts';
import { createBenchApp } from './setup.ts';
import { webhookBenchmark } from './webhooks.bench.ts';

const resultsPath = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const started = process.hrtime.bigint();
const seconds = () => (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
const progress = (message: string) => console.error(`[${seconds()} s] ${message}`);

progress('building the app and 100 buyers');
const bench = await createBenchApp();
const groups: Group[] = [];
try {
  const machine = await describeMachine(bench.t);
  progress(`${machine.setup}: read cache`);
  groups.push(await cacheBenchmark(bench));
  progress('webhooks');
  groups.push(await webhookBenchmark(bench));
  // The pure calculations run last, with the app idle, so no background work of it lands in their samples.
  progress('financing quote');
  groups.push(await quoteBenchmark());
  progress('dunning interest');
  groups.push(await interestBenchmark());
  // Reconciliation last: it adds 150 invoices, which the read-cache and webhook cases should not see.
  progress('reconciliation');
  groups.push(await reconcileBenchmark(bench));
  console.log(`\n${renderRun(machine, groups)}\n`);
  writeResults(resultsPath, machine, groups);
  progress(`done; ${resultsPath} updated`);
} finally {
  await bench.t.close();
}
