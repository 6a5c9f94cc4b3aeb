-- Every verified Stripe event, stored before we answer 2xx; processed asynchronously by any instance.
CREATE TABLE webhook_inbox (
  event_id text PRIMARY KEY,
  type text NOT NULL,
  livemode boolean NOT NULL,
  created bigint NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_error text,
  received_at timestamptz NOT NULL,
  processed_at timestamptz
);
CREATE INDEX webhook_inbox_due ON webhook_inbox (next_attempt_at) WHERE status IN ('pending', 'processing');
CREATE INDEX webhook_inbox_failed ON webhook_inbox (received_at DESC) WHERE status = 'failed';
