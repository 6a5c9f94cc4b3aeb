import { randomBytes } from 'node:crypto';

/** A random id with a readable prefix, e.g. `dlr_4f1c…`; 16 random bytes make collisions irrelevant. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** A random secret token with a prefix (API keys). */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}
