-- A settled SEPA debit the buyer reclaimed (§ 675x (4) BGB; Stripe: charge.dispute.created on a sepa_debit
-- charge) re-opens the claim although the invoice stays paid at Stripe: the case carries the reclaimed
-- amount as its open amount, and the dispute that took the money back. NULL for every other case, whose
-- open amount is the invoice's amount_remaining.
ALTER TABLE dunning_cases ADD COLUMN reclaimed_amount bigint;
ALTER TABLE dunning_cases ADD COLUMN reclaim_dispute_id text;
