import path from 'node:path';
import type { Config } from '../../config.ts';
import type { DatabaseLocation } from './index.ts';

/** DATABASE_URL if set, otherwise PGlite inside DATA_DIR. */
export function databaseLocation(config: Config): DatabaseLocation {
  return config.databaseUrl ? { url: config.databaseUrl } : { dir: path.join(config.dataDir, 'db') };
}
