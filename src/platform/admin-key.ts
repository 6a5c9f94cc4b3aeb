import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateAdminKey } from '../auth/keys.ts';

/**
 * The admin key when ADMIN_API_KEY is not set: generated at the first start, kept in DATA_DIR/admin-key
 * (mode 0600) so the next start prints the same key. Returns the key and whether it was new.
 */
export function loadOrCreateAdminKey(dataDir: string): { key: string; created: boolean } {
  const file = path.join(dataDir, 'admin-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key) return { key, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const key = generateAdminKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key, created: true };
}
