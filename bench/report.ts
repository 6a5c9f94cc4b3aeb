/** The machine description, the printed table, and bench/RESULTS.md (one section per database + cache setup). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { TestApp } from '../test/helpers/app.ts';
import { TEST_REDIS_URL } from '../test/helpers/db.ts';
import type { Group, Measurement } from './harness.ts';

/** Where and on what a run happened. */
export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  database: string;
  cache: string;
  /**
   * Load average (1/5/15 min) when the run began: other processes on the machine slow every case, and this is
   * the hint that a run's absolute numbers were taken on a busy machine.
   */
  loadAverage: string;
  /** Identifies the setup, so a new run replaces the previous run of the same setup in RESULTS.md. */
  setup: string;
}

/** Describes this machine and the app's backends (their server versions included). */
export async function describeMachine(t: TestApp): Promise<Machine> {
  const result = (await t.database.db.execute(sql`select version() as version`)) as unknown as {
    rows: { version: string }[];
  };
  const version = result.rows[0]?.version.split(' ').slice(0, 2).join(' ') ?? 'unknown';
  const database = t.database.kind === 'pglite' ? `PGlite in memory (${version})` : `Postgres (${version})`;
  let cache = 'in-memory (lru-cache)';
  if (TEST_REDIS_URL) {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const info = await redis.info('server');
    await redis.quit();
    cache = `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? ''}`.trim();
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    database,
    cache,
    loadAverage: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
    setup: `${t.database.kind === 'pglite' ? 'PGlite' : 'Postgres'} + ${TEST_REDIS_URL ? 'Redis' : 'memory'}`,
  };
}

const number = (value: number, digits: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** Enough digits to read a microsecond figure and not too many for a millisecond one. */
const ms = (value: number) => number(value, value < 0.1 ? 4 : value < 10 ? 3 : 1);
const mib = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${number(Math.abs(bytes) / 2 ** 20, 1)}`;

function row(m: Measurement): string[] {
  return [
    m.name,
    m.ops.toLocaleString('en-US'),
    number(m.opsPerSecond, m.opsPerSecond < 100 ? 1 : 0),
    ms(m.p50Ms),
    ms(m.p95Ms),
    mib(m.heapDeltaBytes),
    `${number(m.rssBytes / 2 ** 20, 0)} (${mib(m.rssDeltaBytes)})`,
    m.ratio === 1 ? '1 (baseline)' : `${number(m.ratio ?? Number.NaN, 2)}×`,
    m.note ?? '',
  ];
}

const HEADER = [
  'case',
  'ops',
  'ops/s',
  'p50 ms',
  'p95 ms',
  'heap Δ MiB',
  'RSS MiB (Δ)',
  'time ÷ baseline',
  'note',
];

/** A Markdown table, also what the console shows. */
function table(g: Group): string {
  const lines = [HEADER, HEADER.map(() => '---'), row(g.baseline), ...g.cases.map(row)];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** One run as Markdown: the machine, then each group's table and notes. */
export function renderRun(machine: Machine, groups: readonly Group[]): string {
  const parts = [
    `## ${machine.setup} — ${machine.date}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Node ${machine.node}. ` +
      `Database: ${machine.database}. Cache: ${machine.cache}. ` +
      `Load average at start (1/5/15 min): ${machine.loadAverage}.`,
  ];
  for (const g of groups) {
    parts.push('', `### ${g.title}`, '', table(g));
    for (const note of g.notes) parts.push('', note);
  }
  return parts.join('\n');
}

const INTRO = `# Benchmark results

Written by \`npm run bench\` (see README.md for what each case means). Each setup (database + cache) has one
section, replaced by the next run of that setup. "time ÷ baseline" is the median time per operation divided by
the baseline's, both measured in the same run: below 1 is faster than the baseline, above 1 slower.
`;

/** Replaces this setup's section of RESULTS.md (or appends it) and leaves the other setups' sections alone. */
export function writeResults(path: string, machine: Machine, groups: readonly Group[]): void {
  const begin = `<!-- run: ${machine.setup} -->`;
  const end = `<!-- end: ${machine.setup} -->`;
  const section = `${begin}\n${renderRun(machine, groups)}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : INTRO;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
