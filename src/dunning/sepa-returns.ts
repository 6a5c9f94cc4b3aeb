/**
 * SEPA return reasons (Rücklastschrift-Gründe, ISO 20022) and how Stripe's failure codes map onto them.
 * Stripe reports a failed or returned SEPA debit with its own code (`charge.failure_code`,
 * `last_payment_error.code`); the bank's reason behind it is what the law and the buyer talk about.
 * Pure data and functions: no database, no Stripe.
 */

/** The ISO 20022 reasons we record (GERMAN-LAW.md, "SEPA direct debit returns"). */
export const SEPA_RETURN_REASONS = {
  AM04: { text: 'Unzureichende Deckung', redebit: true },
  MD06: { text: 'Erstattung auf Verlangen des Zahlers (Widerspruch)', redebit: false },
  MD01: { text: 'Kein gültiges Mandat', redebit: false },
  MS02: { text: 'Zahlung vom Zahler abgelehnt', redebit: true },
  AC04: { text: 'Konto erloschen', redebit: true },
} as const satisfies Record<string, { text: string; redebit: boolean }>;

/** A SEPA return reason code we record. */
export type SepaReturnReason = keyof typeof SEPA_RETURN_REASONS;

/** The ISO codes we record, in the order GERMAN-LAW.md lists them. */
export const SEPA_RETURN_CODES = Object.keys(SEPA_RETURN_REASONS) as SepaReturnReason[];

/**
 * Stripe's SEPA failure codes → the SEPA reason behind each. Every code Stripe documents for SEPA
 * debits is listed, so a missing mapping is a decision, not an oversight:
 *
 * | Stripe code                       | SEPA  | why                                                            |
 * | --------------------------------- | ----- | -------------------------------------------------------------- |
 * | `insufficient_funds`              | AM04  | the account could not cover the debit                          |
 * | `debit_disputed`                  | MD06  | the payer had the debit refunded (8-week right, § 675x BGB)    |
 * | `debit_not_authorized`            | MD01  | the bank knows no mandate for this debit                       |
 * | `debit_authorization_not_match`   | MD01  | the mandate does not match the debit: no usable mandate        |
 * | `refer_to_customer`               | MS02  | the payer refused the debit at the bank                        |
 * | `account_closed`                  | AC04  | the account no longer exists                                   |
 * | `generic_could_not_process`       | —     | the bank gave no reason; only Stripe's code is kept            |
 * | `account_frozen`, `bank_account_restricted`, `invalid_account_number`, `no_account`,
 *   `bank_ownership_changed`          | —     | reasons outside the ones we record; Stripe's code is kept      |
 */
const STRIPE_TO_SEPA: Readonly<Record<string, SepaReturnReason>> = {
  insufficient_funds: 'AM04',
  debit_disputed: 'MD06',
  debit_not_authorized: 'MD01',
  debit_authorization_not_match: 'MD01',
  refer_to_customer: 'MS02',
  account_closed: 'AC04',
};

/** The SEPA reason of a failure code (an ISO code such as `MD06` passes as it is); null when unknown. */
export function sepaReturnReason(code: string | null | undefined): string | null {
  if (!code) return null;
  const upper = code.toUpperCase();
  if (/^[A-Z]{2}\d{2}$/.test(upper)) return upper;
  return STRIPE_TO_SEPA[code] ?? null;
}

/** Whether a new debit is allowed after this reason: not after MD06 (reclaimed) or MD01 (no mandate). */
export function mayRedebitAfter(reason: string | null | undefined): boolean {
  if (!reason) return true;
  const known = SEPA_RETURN_REASONS[reason as SepaReturnReason];
  return known ? known.redebit : true;
}

/** The payer may reclaim an authorised debit for 8 weeks without giving a reason (§ 675x Abs. 4 BGB). */
export const NO_REASON_RECLAIM_DAYS = 56;

/**
 * The SEPA reason of a settled debit taken back through a dispute (Stripe's `charge.dispute.created`
 * on a `sepa_debit` charge): within 8 weeks of the debit the payer needs no reason (MD06, refund
 * requested); later only an unauthorised debit can be reclaimed, up to 13 months (MD01).
 */
export function reclaimReason(daysSinceDebit: number): 'MD06' | 'MD01' {
  return daysSinceDebit <= NO_REASON_RECLAIM_DAYS ? 'MD06' : 'MD01';
}
