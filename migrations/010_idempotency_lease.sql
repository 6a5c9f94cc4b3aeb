-- A running request holds its Idempotency-Key for a lease; a crashed one's key can be taken over after it.
ALTER TABLE idempotency_keys ADD COLUMN locked_until timestamptz;
