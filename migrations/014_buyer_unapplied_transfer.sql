-- Bank-transfer money Stripe holds in a buyer's cash balance without having matched it to an invoice (less
-- than the open invoice, or a reference it could not place), and the business day it started waiting. The
-- dealer sees it on the buyer, and dunning holds its letters for a while: a buyer who has sent money is not
-- dunned for the full amount before someone had time to match it. Kept in step with Stripe (re-fetched on
-- every cash-balance event); 0 and NULL when nothing is waiting.
ALTER TABLE buyers ADD COLUMN unapplied_transfer_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE buyers ADD COLUMN unapplied_transfer_since date;
-- The same on the buyer's open dunning cases (as buyer_paused is), so the scheduler's plan reads it from the case.
ALTER TABLE dunning_cases ADD COLUMN buyer_unapplied_transfer bigint NOT NULL DEFAULT 0;
ALTER TABLE dunning_cases ADD COLUMN buyer_unapplied_transfer_since date;
