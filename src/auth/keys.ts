import { createHash } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../platform/db/index.ts';
import { newId, newSecret } from '../platform/ids.ts';
import { apiKeys } from './schema.ts';

/** Who is calling: the admin (sees everything) or one dealer (sees only its own objects). */
export type Scope = { kind: 'admin' } | { kind: 'dealer'; dealerId: string };

/** API keys are high-entropy random tokens, so a plain SHA-256 is a sufficient one-way store. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a new dealer key; returns the plain key (shown once) — only its hash is stored. */
export async function issueDealerKey(db: Db, dealerId: string, now: Date): Promise<string> {
  const key = newSecret('mp_dealer');
  await db
    .insert(apiKeys)
    .values({ id: newId('key'), keyHash: hashApiKey(key), role: 'dealer', dealerId, createdAt: now });
  return key;
}

/** Makes sure the given admin key is registered (idempotent: the same key twice is one row). */
export async function registerAdminKey(db: Db, key: string, now: Date): Promise<void> {
  await db
    .insert(apiKeys)
    .values({ id: newId('key'), keyHash: hashApiKey(key), role: 'admin', dealerId: null, createdAt: now })
    .onConflictDoNothing({ target: apiKeys.keyHash });
}

/** Resolves a presented key to its scope (and the key's id), or null for an unknown or revoked key. */
export async function resolveApiKey(db: Db, key: string): Promise<{ scope: Scope; keyId: string } | null> {
  const rows = await db
    .select({ id: apiKeys.id, role: apiKeys.role, dealerId: apiKeys.dealerId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  if (row.role === 'admin') return { scope: { kind: 'admin' }, keyId: row.id };
  return row.dealerId ? { scope: { kind: 'dealer', dealerId: row.dealerId }, keyId: row.id } : null;
}

/** Generates a fresh admin key (used at the first offline start when ADMIN_API_KEY is not set). */
export function generateAdminKey(): string {
  return newSecret('mp_admin');
}
