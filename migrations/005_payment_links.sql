-- Payment requests by link (Zahlungsaufforderung per Link), one completed payment at most.
CREATE TABLE payment_links (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  buyer_id text REFERENCES buyers (id),
  vehicle_id text NOT NULL,
  vehicle_model text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('down_payment', 'remainder', 'other')),
  amount bigint NOT NULL CHECK (amount > 0),
  buyer_email text NOT NULL,
  status text NOT NULL CHECK (status IN ('creating', 'active', 'processing', 'paid', 'failed', 'deactivated')),
  stripe_payment_link_id text UNIQUE,
  url text,
  checkout_session_id text,
  payment_intent_id text,
  request_key text UNIQUE,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX payment_links_dealer ON payment_links (dealer_id, created_at DESC);

-- A payment that never settled (a returned SEPA debit before settlement) is kept, marked failed, with its reason.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_settlement_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_settlement_check
  CHECK (settlement IN ('settled', 'processing', 'failed'));
