-- Dealers are tenants; every dealer-owned row carries dealer_id.
CREATE TABLE dealers (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL
);

-- API keys are stored as SHA-256 hashes only; the plain key is shown once, at creation.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  key_hash text NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('admin', 'dealer')),
  dealer_id text REFERENCES dealers (id),
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CHECK ((role = 'admin') = (dealer_id IS NULL))
);

-- Small service-wide facts, e.g. the webhook endpoint registered with the emulator.
CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Idempotency-Key of our own API: one row per caller scope and key.
CREATE TABLE idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'done')),
  response_status integer,
  response_body jsonb,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
