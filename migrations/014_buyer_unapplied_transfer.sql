-- Bank-transfer money Stripe holds in a buyer's cash balance without having matched it to an invoice (less
-- than the open invoice, or a reference it could not place). The dealer sees it on the buyer, and dunning
-- holds its letters: a buyer who has sent money is not dunned for the full amount. Kept in step with Stripe
-- (re-fetched on every cash-balance event); 0 when nothing is waiting.
ALTER TABLE buyers ADD COLUMN unapplied_transfer_amount bigint NOT NULL DEFAULT 0;
-- The same amount on the buyer's open dunning cases (as buyer_paused is), so the scheduler's plan reads it
-- from the case.
ALTER TABLE dunning_cases ADD COLUMN buyer_unapplied_transfer bigint NOT NULL DEFAULT 0;
