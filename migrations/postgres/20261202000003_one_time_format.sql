-- Every time is stored one way: timestamptz here, fixed-format UTC text on SQLite (see
-- store::time). Lease and due times were milliseconds since the epoch, audit times RFC 3339
-- text.
ALTER TABLE job_queue ADD COLUMN lease_expires_at timestamptz;
UPDATE job_queue SET lease_expires_at = to_timestamp(lease_expires_ms / 1000.0)
    WHERE lease_expires_ms IS NOT NULL;
ALTER TABLE job_queue DROP COLUMN lease_expires_ms;

DROP INDEX webhook_messages_due;
ALTER TABLE webhook_messages
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN lease_expires_at timestamptz,
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz,
    ALTER COLUMN delivered_at TYPE timestamptz USING delivered_at::timestamptz;
UPDATE webhook_messages
    SET next_attempt_at  = to_timestamp(next_attempt_ms / 1000.0),
        lease_expires_at = to_timestamp(lease_expires_ms / 1000.0);
ALTER TABLE webhook_messages
    ALTER COLUMN next_attempt_at SET NOT NULL,
    DROP COLUMN next_attempt_ms,
    DROP COLUMN lease_expires_ms;
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);

ALTER TABLE webhook_attempts
    ALTER COLUMN attempted_at TYPE timestamptz USING attempted_at::timestamptz;

ALTER TABLE webhook_secrets
    ADD COLUMN expires_at timestamptz,
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz;
UPDATE webhook_secrets SET expires_at = to_timestamp(expires_ms / 1000.0)
    WHERE expires_ms IS NOT NULL;
ALTER TABLE webhook_secrets DROP COLUMN expires_ms;

ALTER TABLE api_keys
    ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz,
    ALTER COLUMN revoked_at TYPE timestamptz USING revoked_at::timestamptz;
