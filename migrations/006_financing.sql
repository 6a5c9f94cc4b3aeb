-- Financing plans (Finanzierungs-Raten): a fixed number of monthly instalments collected by a Stripe
-- subscription schedule, an optional balloon (Schlussrate) invoiced by us, early payoff. See src/financing/.

-- One Stripe Product per vehicle model, reused by every contract (contract ids go into metadata).
CREATE TABLE stripe_products (
  model_key text PRIMARY KEY,
  vehicle_model text NOT NULL,
  stripe_product_id text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL
);

CREATE TABLE financing_plans (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  buyer_id text NOT NULL REFERENCES buyers (id),
  vehicle_id text NOT NULL,
  vehicle_model text NOT NULL,
  monthly_rate bigint NOT NULL CHECK (monthly_rate > 0),
  -- Due date of the first instalment; moved to the day collection really starts when the buyer gave
  -- the payment method only after it had passed.
  start_date date NOT NULL,
  duration_months integer NOT NULL CHECK (duration_months BETWEEN 1 AND 120),
  payment_method_types jsonb NOT NULL,
  quote_input jsonb,
  quote jsonb,
  -- Every payment of the plan (instalments collected by Stripe, then the balloon), fixed at creation.
  payments jsonb NOT NULL,
  balloon_amount bigint NOT NULL DEFAULT 0 CHECK (balloon_amount >= 0),
  balloon_due_date date,
  status text NOT NULL CHECK (status IN ('creating', 'awaiting_payment_method', 'scheduled', 'active',
    'past_due', 'balloon_due', 'terminated_early', 'completed', 'paid_off', 'canceled', 'ended_early')),
  stripe_product_id text,
  setup_session_id text UNIQUE,
  setup_url text,
  stripe_schedule_id text UNIQUE,
  stripe_subscription_id text UNIQUE,
  -- The subscription ran to its scheduled end (as opposed to being ended early).
  term_ended boolean NOT NULL DEFAULT false,
  end_reason text,
  cancel_reason text,
  -- The caller's Idempotency-Key (with its scope): a retried POST resumes this plan.
  request_key text UNIQUE,
  -- `created` of the newest subscription event applied (active ⇄ past_due may go both ways).
  stripe_synced_at bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX financing_plans_dealer_created ON financing_plans (dealer_id, created_at DESC, id DESC);
CREATE INDEX financing_plans_buyer ON financing_plans (buyer_id);
CREATE INDEX financing_plans_balloon_due ON financing_plans (balloon_due_date) WHERE balloon_amount > 0;

-- Which instalment of which plan a subscription invoice is (the invoice row itself is in `invoices`,
-- kind 'instalment', so the ledger records it like every other invoice).
CREATE TABLE financing_instalments (
  invoice_id text PRIMARY KEY REFERENCES invoices (id),
  plan_id text NOT NULL REFERENCES financing_plans (id),
  n integer NOT NULL CHECK (n >= 1),
  period_start date NOT NULL,
  -- Set by invoice.payment_failed: the last collection attempt failed.
  last_failed_at timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX financing_instalments_plan ON financing_instalments (plan_id, n);
