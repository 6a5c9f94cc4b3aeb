/**
 * Effective yearly rate (effektiver Jahreszins) per PAngV § 16 and its annex: the X with
 *   Σ received · (1+X)^(−t) = Σ paid · (1+X)^(−t),  t in years, one month = 1/12 year.
 * All payments here fall on whole months, so we solve for the monthly factor q = (1+X)^(1/12)
 * (only integer powers, exact in decimal.js) and report X = q^12 − 1.
 */
import { Decimal } from 'decimal.js';

/** A payment by the buyer, in months after the payout (month 0 = payout day). */
export interface CashFlow {
  month: number;
  amount: number;
}

const TOLERANCE = new Decimal('1e-15');
const MAX_STEPS = 200;

/** Σ amount·v^month and its derivative with respect to the monthly rate j, where v = 1/(1+j). */
function presentValue(flows: readonly CashFlow[], j: Decimal): { value: Decimal; slope: Decimal } {
  const v = Decimal.div(1, j.plus(1));
  let value = new Decimal(0);
  let weighted = new Decimal(0);
  for (const flow of flows) {
    const discounted = v.pow(flow.month).times(flow.amount);
    value = value.plus(discounted);
    weighted = weighted.plus(discounted.times(flow.month));
  }
  // d/dj (1+j)^(−t) = −t·(1+j)^(−t−1)
  return { value, slope: weighted.times(v).negated() };
}

/**
 * The monthly rate j ≥ 0 at which the buyer's payments are worth exactly what the buyer received.
 * Newton steps kept inside a bracket that always holds the root, bisecting when Newton leaves it,
 * so it converges for any cash flow the quote can produce. Throws if the payments are worth less than
 * the amount received even at rate 0, or if what is paid at month 0 alone already matches it.
 */
export function solveMonthlyRate(received: number, payments: readonly CashFlow[], initialGuess = 0): Decimal {
  const excess = (j: Decimal) => {
    const pv = presentValue(payments, j);
    return { value: pv.value.minus(received), slope: pv.slope };
  };
  if (excess(new Decimal(0)).value.isNegative()) {
    throw new RangeError('the payments are worth less than the amount received: no rate ≥ 0 exists');
  }
  let lo = new Decimal(0);
  let hi = new Decimal(1);
  let doublings = 0;
  while (excess(hi).value.isPositive()) {
    lo = hi;
    hi = hi.times(2);
    if (++doublings > 64)
      throw new RangeError('the payments are so high at payout that no rate balances them');
  }
  let j = Decimal.max(lo, Decimal.min(hi, initialGuess));
  for (let step = 0; step < MAX_STEPS; step++) {
    const { value, slope } = excess(j);
    if (value.isZero()) return j;
    if (value.isPositive()) lo = j;
    else hi = j;
    let next = slope.isZero() ? lo.plus(hi).div(2) : j.minus(value.div(slope));
    if (next.lte(lo) || next.gte(hi)) next = lo.plus(hi).div(2);
    if (next.minus(j).abs().lt(TOLERANCE) || hi.minus(lo).lt(TOLERANCE)) return next;
    j = next;
  }
  return j;
}

/** Effective yearly rate in percent, two decimals rounded half-up (PAngV § 16), from monthly cash flows. */
export function effectiveRatePercent(
  received: number,
  payments: readonly CashFlow[],
  nominalRatePercentHint = 0,
): number {
  const j = solveMonthlyRate(received, payments, nominalRatePercentHint / 1200);
  return j.plus(1).pow(12).minus(1).times(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toNumber();
}
