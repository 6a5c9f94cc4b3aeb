-- Stripe's own failure code of a returned or failed debit (e.g. insufficient_funds), next to the SEPA
-- reason it maps to: not every Stripe code has a SEPA reason (generic_could_not_process has none), and
-- the dealer's support needs the original to ask Stripe.
ALTER TABLE dunning_cases ADD COLUMN return_failure_code text;
