/**
 * The base-rate table the service computes interest with: the admin's (stored with platform/settings.ts)
 * or the shipped base-rates.json. The admin extends it every 1 Jan / 1 Jul through the API, so a new
 * Basiszinssatz needs no release; every table is validated by loadBaseRateTable before it is stored.
 */
import type { Scope } from '../auth/keys.ts';
import type { Db } from '../platform/db/index.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { ValidationError } from '../platform/errors.ts';
import { readSetting, writeSetting } from '../platform/settings.ts';
import {
  type BaseRateEntry,
  type BaseRateTable,
  DEFAULT_BASE_RATE_TABLE,
  loadBaseRateTable,
} from './base-rates.ts';
import { DunningError } from './errors.ts';

const SETTING = 'dunning.baseRates';

interface StoredBaseRates {
  entries: BaseRateEntry[];
  updatedBy: string;
}

/** The table in force: the admin's, or the shipped one. */
export async function currentBaseRateTable(db: Db): Promise<BaseRateTable> {
  const stored = await readSetting<StoredBaseRates>(db, SETTING);
  // Validated before it was stored; loading it again keeps the brand honest and the entries sorted.
  return stored ? loadBaseRateTable(stored.entries) : DEFAULT_BASE_RATE_TABLE;
}

/** The admin's view of the table. */
export async function describeBaseRates(db: Db) {
  const stored = await readSetting<StoredBaseRates>(db, SETTING);
  const table = stored ? loadBaseRateTable(stored.entries) : DEFAULT_BASE_RATE_TABLE;
  return {
    source: stored ? ('configured' as const) : ('default' as const),
    updatedBy: stored?.updatedBy ?? null,
    entries: table.entries,
    knownUntil: table.knownUntil,
  };
}

/**
 * Replaces the table with `entries` (the whole list, sorted). The published rates shipped with the
 * service stay as they are: a claim already put to a buyer was computed with them, so they may be
 * extended, not rewritten. Entries the admin added earlier may be corrected.
 */
export async function setBaseRates(deps: ServiceDeps, scope: Scope, entries: unknown) {
  let table: BaseRateTable;
  try {
    table = loadBaseRateTable(entries);
  } catch (err) {
    if (!(err instanceof DunningError)) throw err;
    throw new ValidationError(
      'Invalid base-rate table.',
      err.details.map((d) => ({
        field: d.path === '(root)' ? 'body' : `body.${d.path}`,
        message: d.message,
      })),
      'invalid_base_rate_table',
    );
  }
  const details = DEFAULT_BASE_RATE_TABLE.entries.flatMap((shipped, i) => {
    const kept = table.entries.find((e) => e.from === shipped.from);
    return kept?.ratePercent === shipped.ratePercent
      ? []
      : [
          {
            field: `body.${i}`,
            message: `the published rate from ${shipped.from} is ${shipped.ratePercent} %`,
          },
        ];
  });
  if (details.length > 0) {
    throw new ValidationError(
      'Published base rates cannot be changed or removed; add new ones.',
      details,
      'invalid_base_rate_table',
    );
  }
  const updatedBy = scope.kind === 'admin' ? 'admin' : `dealer:${scope.dealerId}`;
  const value: StoredBaseRates = { entries: [...table.entries], updatedBy };
  await writeSetting(deps.db, SETTING, value, new Date(deps.clock.now()));
  return describeBaseRates(deps.db);
}
