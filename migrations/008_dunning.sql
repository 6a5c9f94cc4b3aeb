-- Dunning (Mahnwesen). Policies: the admin's per debtor type (none stored = the shipped defaults),
-- and per-dealer overrides merged onto them.
CREATE TABLE dunning_policies (
  debtor_type text PRIMARY KEY CHECK (debtor_type IN ('consumer', 'business')),
  policy jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE dunning_policy_overrides (
  dealer_id text NOT NULL REFERENCES dealers (id),
  debtor_type text NOT NULL CHECK (debtor_type IN ('consumer', 'business')),
  override jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (dealer_id, debtor_type)
);

-- The creditor as printed in letters. A dealer without a row gets placeholders (flagged on each letter).
CREATE TABLE dunning_creditor_profiles (
  dealer_id text PRIMARY KEY REFERENCES dealers (id),
  name text NOT NULL,
  address text NOT NULL,
  vat_id text,
  iban text NOT NULL,
  bic text NOT NULL,
  bank_name text NOT NULL,
  updated_at timestamptz NOT NULL
);

-- One case per invoice. `policy` is the policy as it stood when the case opened: the dates and fees a
-- buyer was told do not change under them. `status` is derived from stage and the stop flags.
CREATE TABLE dunning_cases (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  invoice_id text NOT NULL UNIQUE REFERENCES invoices (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  debtor_type text NOT NULL CHECK (debtor_type IN ('consumer', 'business')),
  policy jsonb NOT NULL,
  origin text NOT NULL CHECK (origin IN ('overdue', 'payment_failed', 'returned_debit')),
  stage text NOT NULL CHECK (stage IN ('dunning', 'awaiting_decision', 'escalated', 'closed')),
  status text NOT NULL CHECK (status IN ('open', 'paused', 'awaiting_decision', 'escalated', 'closed')),
  level integer NOT NULL DEFAULT 0,
  due_date date NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  buyer_paused boolean NOT NULL DEFAULT false,
  disputed boolean NOT NULL DEFAULT false,
  pause_reason text,
  return_reason_code text,
  may_redebit boolean NOT NULL DEFAULT true,
  escalation text CHECK (escalation IN ('collection', 'court', 'write_off', 'call_loan')),
  escalated_at timestamptz,
  closed_reason text,
  closed_at timestamptz,
  opened_on date NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX dunning_cases_dealer ON dunning_cases (dealer_id, created_at DESC, id DESC);
CREATE INDEX dunning_cases_active ON dunning_cases (stage) WHERE stage IN ('dunning', 'awaiting_decision');
CREATE INDEX dunning_cases_buyer ON dunning_cases (buyer_id);

-- Every letter written. UNIQUE (case_id, level) plus writing the row in the transaction that moves the
-- case makes "each letter once" hold with any number of schedulers. The row is the durable record the
-- admin reads; the PDF is rendered from it on read.
CREATE TABLE dunning_letters (
  id text PRIMARY KEY,
  case_id text NOT NULL REFERENCES dunning_cases (id),
  dealer_id text NOT NULL REFERENCES dealers (id),
  level integer NOT NULL,
  level_name text NOT NULL,
  letter_date date NOT NULL,
  deadline date NOT NULL,
  recipient_email text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  body_html text NOT NULL,
  items jsonb NOT NULL,
  open_amount bigint NOT NULL,
  interest bigint NOT NULL,
  fees bigint NOT NULL,
  flat_fee bigint NOT NULL,
  total_due bigint NOT NULL,
  payment_url text,
  payment_url_kind text CHECK (payment_url_kind IN ('hosted_invoice', 'payment_link')),
  creditor_placeholder boolean NOT NULL,
  -- withdrawn: money arrived (or the case stopped) between writing and sending; never sent.
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'withdrawn')),
  delivered_via text,
  sent_at timestamptz,
  created_at timestamptz NOT NULL,
  UNIQUE (case_id, level)
);
CREATE INDEX dunning_letters_created ON dunning_letters (created_at DESC, id DESC);

-- Mahnstopp for a buyer: every case of theirs stops until it is lifted.
CREATE TABLE dunning_buyer_pauses (
  buyer_id text PRIMARY KEY REFERENCES buyers (id),
  dealer_id text NOT NULL REFERENCES dealers (id),
  reason text NOT NULL,
  paused_by text NOT NULL,
  paused_at timestamptz NOT NULL
);

-- Who did what to a case, and why. `actor` is 'system', 'admin' or 'dealer:<id>'.
CREATE TABLE dunning_audit (
  id text PRIMARY KEY,
  -- Orders entries written within the same clock instant.
  seq bigserial NOT NULL,
  case_id text REFERENCES dunning_cases (id),
  buyer_id text,
  dealer_id text NOT NULL REFERENCES dealers (id),
  action text NOT NULL,
  actor text NOT NULL,
  reason text,
  details jsonb,
  created_at timestamptz NOT NULL
);
CREATE INDEX dunning_audit_case ON dunning_audit (case_id, seq);
