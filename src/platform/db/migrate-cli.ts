/** `npm run migrate`: applies pending migrations to the configured database and exits. */
import { loadConfig } from '../../config.ts';
import { openDatabase } from './index.ts';
import { databaseLocation } from './location.ts';

const config = loadConfig(process.env);
const database = await openDatabase(databaseLocation(config));
try {
  const applied = await database.migrate();
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await database.close();
}
