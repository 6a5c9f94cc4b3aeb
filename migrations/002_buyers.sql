-- Buyers (Käufer): one Stripe customer each. Our row is the tenant boundary and the read model;
-- customer.updated/deleted events keep it in step with changes made in the Stripe dashboard.
CREATE TABLE buyers (
  id text PRIMARY KEY,
  dealer_id text NOT NULL REFERENCES dealers (id),
  buyer_ref text NOT NULL,
  vehicle_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('consumer', 'business')),
  name text NOT NULL,
  email text NOT NULL,
  phone text,
  address jsonb NOT NULL,
  vat_id text,
  stripe_customer_id text UNIQUE,
  deleted_at timestamptz,
  -- `created` of the newest Stripe event applied, so an older event never overwrites a newer one.
  stripe_synced_at bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (dealer_id, buyer_ref)
);
CREATE INDEX buyers_dealer_created ON buyers (dealer_id, created_at DESC, id DESC);
