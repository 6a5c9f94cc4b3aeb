-- Transactional outbox: a side effect (e-mail, letter, call to another system) is written in the same
-- transaction as the state change that causes it, and sent after commit by any instance.
-- dedupe_key is unique, so the same side effect can never be queued twice.
CREATE TABLE outbox (
  id text PRIMARY KEY,
  topic text NOT NULL,
  payload jsonb NOT NULL,
  dedupe_key text NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error text,
  created_at timestamptz NOT NULL,
  sent_at timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_failed ON outbox (created_at DESC) WHERE status = 'failed';
