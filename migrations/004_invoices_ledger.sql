-- Invoices we issue through Stripe (Anzahlung, Restzahlung, Schlussrate, …). Stripe is the system of record
-- for the money; this row is our projection, moved only forward by events (see invoices/events.ts).
CREATE TABLE invoices (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  vehicle_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('down_payment', 'remainder', 'other', 'instalment', 'balloon', 'payoff')),
  description text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL DEFAULT 'eur',
  days_until_due integer NOT NULL,
  payment_method_types jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('creating', 'draft', 'open', 'paid', 'void', 'uncollectible')),
  stripe_invoice_id text UNIQUE,
  number text,
  hosted_invoice_url text,
  due_date date,
  amount_paid bigint NOT NULL DEFAULT 0,
  amount_remaining bigint NOT NULL,
  payment_processing boolean NOT NULL DEFAULT false,
  financing_plan_id text,
  -- The caller's Idempotency-Key (with its scope): a retried POST resumes this invoice instead of making another.
  request_key text UNIQUE,
  stripe_synced_at bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  paid_at timestamptz
);
CREATE INDEX invoices_buyer ON invoices (buyer_id, created_at DESC);
CREATE INDEX invoices_vehicle ON invoices (dealer_id, vehicle_id);
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE status = 'open';

-- The payment ledger: append-only, one entry per Stripe object and effect (the unique source).
CREATE TABLE ledger_entries (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  vehicle_id text NOT NULL,
  buyer_id text REFERENCES buyers (id),
  invoice_id text REFERENCES invoices (id),
  kind text NOT NULL CHECK (kind IN ('down_payment', 'remainder', 'other', 'instalment', 'balloon', 'payoff', 'refund', 'returned_debit', 'dispute', 'fee')),
  amount bigint NOT NULL,
  currency text NOT NULL DEFAULT 'eur',
  -- settled: can no longer fail; processing: SEPA money that may still be returned.
  settlement text NOT NULL CHECK (settlement IN ('settled', 'processing')),
  payment_method text,
  source_id text NOT NULL,
  effect text NOT NULL,
  reason_code text,
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (source_id, effect)
);
CREATE INDEX ledger_vehicle ON ledger_entries (dealer_id, vehicle_id, occurred_at);
