/**
 * Measuring: warm-up, several samples, per-operation latencies from process.hrtime.bigint(), the median of the
 * samples, and the memory a measurement leaves behind. No timing here ever asserts anything; numbers are reported.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One sample: how many operations ran, how long they took together, and each one's latency. */
export interface Sample {
  ops: number;
  /** Time of the measured work only (setup done between operations is not in it). */
  elapsedNs: bigint;
  /** Latency of each operation (or of each batch divided by its size, see MeasureOptions.batch). */
  latenciesNs: number[];
}

/** What a measurement reports; ratios are filled in when a group is assembled. */
export interface Measurement {
  name: string;
  /** Operations measured, warm-up excluded. */
  ops: number;
  /** Median over the samples of ops / elapsed. */
  opsPerSecond: number;
  /** Median over the samples of elapsed / ops, in ms: what the ratio is computed from. */
  msPerOp: number;
  p50Ms: number;
  p95Ms: number;
  /** heapUsed after the measurement minus before it, both after a full GC: what it left reachable. */
  heapDeltaBytes: number;
  /** rss after the measurement (and its change), which also shows PGlite's WebAssembly memory. */
  rssBytes: number;
  rssDeltaBytes: number;
  /** msPerOp ÷ the baseline's msPerOp; 1 for the baseline itself. */
  ratio?: number;
  note?: string;
}

/** A benchmark: a baseline and the cases measured against it in the same run. */
export interface Group {
  title: string;
  baseline: Measurement;
  cases: Measurement[];
  /** Findings that are not timings (load counts, shares), printed under the table. */
  notes: string[];
}

// `npm run bench` is `tsx bench/run.ts` without --expose-gc; turning the flag on at run time and fetching gc from
// a fresh context is V8's documented way to get the function anyway. Without a forced GC the heap delta would
// mostly say when the collector last happened to run.
setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

/** Runs a full collection twice (the second catches what finalizers released). */
export function collectGarbage(): void {
  forceGc();
  forceGc();
}

/** Options of measure / measureSync. */
export interface MeasureOptions<T> {
  name: string;
  /** Operations run and thrown away first, so the JIT, caches and connection pools are warm. */
  warmup: number;
  samples: number;
  opsPerSample: number;
  /**
   * Calls timed together as one unit, for operations of a few microseconds where the timer's own cost
   * (~0.1 µs) would show; each call's latency is then the unit's time ÷ batch. Default 1.
   */
  batch?: number;
  /** Untimed work before each operation (e.g. invalidating the cache). */
  before?: (index: number) => unknown | Promise<unknown>;
  /** The operation; `index` counts from 0 over warm-up and samples. */
  op: (index: number) => T | Promise<T>;
  note?: string;
}

/** Measures an asynchronous operation, one at a time. */
export async function measure<T>(options: MeasureOptions<T>): Promise<Measurement> {
  const batch = options.batch ?? 1;
  let index = 0;
  const runUnit = async (): Promise<bigint> => {
    if (options.before) await options.before(index);
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) {
      await options.op(index++);
      // inject answers through promises only, so back-to-back calls never let the event loop reach its check
      // phase: every response's setImmediate clean-up (close events) would pile up, unrun, and hold each request
      // in memory. One loop turn per operation runs that work, and it is timed, as it is part of serving.
      await nextTurn();
    }
    return process.hrtime.bigint() - start;
  };
  for (let w = 0; w < options.warmup; w += batch) await runUnit();
  return recordSamples(options, async () => {
    const latenciesNs: number[] = [];
    let elapsedNs = 0n;
    for (let done = 0; done < options.opsPerSample; done += batch) {
      const unit = await runUnit();
      elapsedNs += unit;
      const each = Number(unit) / batch;
      for (let i = 0; i < batch; i++) latenciesNs.push(each);
    }
    return { ops: latenciesNs.length, elapsedNs, latenciesNs };
  });
}

// Results of synchronous operations land here, so V8 cannot drop a call whose result nobody reads.
let sink: unknown;

/** Measures a synchronous operation in a tight loop (no await between calls, which would cost more than it). */
export async function measureSync<T>(
  options: Omit<MeasureOptions<T>, 'before'> & { op: (index: number) => T },
) {
  const batch = options.batch ?? 1;
  let index = 0;
  const runUnit = (): bigint => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink = options.op(index++);
    return process.hrtime.bigint() - start;
  };
  for (let w = 0; w < options.warmup; w += batch) runUnit();
  const measurement = await recordSamples(options, async () => {
    const latenciesNs: number[] = [];
    let elapsedNs = 0n;
    for (let done = 0; done < options.opsPerSample; done += batch) {
      const unit = runUnit();
      elapsedNs += unit;
      const each = Number(unit) / batch;
      for (let i = 0; i < batch; i++) latenciesNs.push(each);
    }
    return { ops: latenciesNs.length, elapsedNs, latenciesNs };
  });
  if (sink === Symbol.for('never')) console.log(sink);
  return measurement;
}

/** Runs `sample` the requested number of times between two GC'd memory readings and summarises. */
export async function recordSamples(
  options: { name: string; samples: number; note?: string },
  sample: (index: number) => Promise<Sample>,
): Promise<Measurement> {
  collectGarbage();
  const before = process.memoryUsage();
  const samples: Sample[] = [];
  for (let s = 0; s < options.samples; s++) samples.push(await sample(s));
  collectGarbage();
  const after = process.memoryUsage();
  return summarise(options.name, samples, { before, after }, options.note);
}

/** Turns samples into the reported figures: medians over samples, percentiles over all latencies. */
export function summarise(
  name: string,
  samples: readonly Sample[],
  memory: { before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage },
  note?: string,
): Measurement {
  const msPerOp = median(samples.map((s) => Number(s.elapsedNs) / 1e6 / s.ops));
  const latencies = samples.flatMap((s) => s.latenciesNs).sort((a, b) => a - b);
  return {
    name,
    ops: samples.reduce((total, s) => total + s.ops, 0),
    opsPerSecond: median(samples.map((s) => s.ops / (Number(s.elapsedNs) / 1e9))),
    msPerOp,
    p50Ms: percentile(latencies, 0.5) / 1e6,
    p95Ms: percentile(latencies, 0.95) / 1e6,
    heapDeltaBytes: memory.after.heapUsed - memory.before.heapUsed,
    rssBytes: memory.after.rss,
    rssDeltaBytes: memory.after.rss - memory.before.rss,
    ...(note ? { note } : {}),
  };
}

/** The middle value (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** Builds a group and sets every ratio against its baseline (time per operation ÷ the baseline's). */
export function group(
  title: string,
  baseline: Measurement,
  cases: Measurement[],
  notes: string[] = [],
): Group {
  return {
    title,
    baseline: { ...baseline, ratio: 1 },
    cases: cases.map((c) => ({ ...c, ratio: c.msPerOp / baseline.msPerOp })),
    notes,
  };
}
