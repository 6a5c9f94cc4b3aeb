/** Building blocks shared by resource modules. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { p } from '../params.ts';
import type { EmulatorContext } from '../resource.ts';
import type { StoredObject } from '../store.ts';

/** The live object with this id, or Stripe's 404 (`No such customer: 'cus_x'`, param `id`). */
export function requireLive<T extends StoredObject>(
  ctx: EmulatorContext,
  collection: string,
  id: string,
  objectName: string,
  param = 'id',
  status = 404,
): T {
  const c = ctx.store.collection<T>(collection);
  if (!c.isLive(id)) throw errors.resourceMissing(objectName, id, param, status);
  return c.get(id)!;
}

/**
 * Stores an updated object and records `<type>` with `previous_attributes`, unless nothing changed
 * (Stripe sends no event for a no-op update).
 */
export function saveUpdate<T extends StoredObject>(
  ctx: EmulatorContext,
  collection: string,
  before: T,
  after: T,
  eventType: string,
): T {
  const previous = previousAttributes(before, after);
  const saved = ctx.store.collection<T>(collection).replace(after);
  if (previous) ctx.emit(eventType, saved, previous);
  return saved;
}

/** `address` param (all parts optional, as Stripe's AddressParam). */
export const addressParam = p.object({
  city: p.string(),
  country: p.string(),
  line1: p.string(),
  line2: p.string(),
  postal_code: p.string(),
  state: p.string(),
});

/** An AddressParam as the Address object Stripe returns (absent parts are null). */
export function toAddress(a: {
  city?: string;
  country?: string;
  line1?: string;
  line2?: string;
  postal_code?: string;
  state?: string;
}): Stripe.Address {
  return {
    city: a.city ?? null,
    country: a.country ?? null,
    line1: a.line1 ?? null,
    line2: a.line2 ?? null,
    postal_code: a.postal_code ?? null,
    state: a.state ?? null,
  };
}

/** Lower-cased ISO currency, or a 400. */
export function currencyCode(value: string, param = 'currency'): string {
  const c = value.toLowerCase();
  if (!/^[a-z]{3}$/.test(c))
    throw errors.invalidParam(
      param,
      `Invalid currency: ${value}. Stripe currencies are three-letter ISO codes.`,
    );
  return c;
}
