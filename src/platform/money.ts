import { Decimal } from 'decimal.js';

/** An amount of euro cents. Always an integer; the brand keeps plain numbers (and euros) out. */
export type Cents = number & { readonly __brand: 'Cents' };

/** Tags an integer as cents; throws on anything that is not a safe integer. */
export function cents(value: number): Cents {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a whole number of cents: ${value}`);
  return value as Cents;
}

/**
 * The one place where a fractional amount becomes cents: half-up (away from zero for .5),
 * as German price and interest statements expect.
 */
export function roundHalfUpToCents(value: Decimal.Value): Cents {
  const rounded = new Decimal(value).toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  return cents(rounded.toNumber());
}

/** Sums cents exactly. */
export function sumCents(values: Iterable<number>): Cents {
  let total = 0;
  for (const v of values) total += v;
  return cents(total);
}

/** "1.234,56 €" — how a German buyer reads an amount. */
export function formatEuro(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const euros = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  const rest = (abs % 100).toString().padStart(2, '0');
  return `${sign}${euros},${rest} €`;
}
