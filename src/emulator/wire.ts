/**
 * The JSON form of SDK types. The SDK turns a few wire strings into richer values on the way in
 * (decimal strings such as `unit_amount_decimal` become `Stripe.Decimal`); `Wire<T>` maps those back
 * to what the API sends, so object builders stay typed against the SDK's own declarations.
 */
import type Stripe from 'stripe';

export type Wire<T> = T extends Stripe.Decimal
  ? string
  : // Primitives (including the SDK's `OtherString = string & {}`) pass through unchanged.
    T extends string | number | boolean | null | undefined
    ? T
    : T extends Array<infer U>
      ? Array<Wire<U>>
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;
