/** Stripe-style random ids: `cus_` + 14 base62 chars (Stripe's own are 14–24). */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random base62 string of the given length (rejection sampling keeps it unbiased). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** A new id with the given prefix (without the underscore), e.g. `newId('cus')`. */
export function newId(prefix: string, length = 14): string {
  return `${prefix}_${randomBase62(length)}`;
}
