-- Every time is stored one way: UTC text in one fixed format with milliseconds, as the events'
-- recorded_at (timestamptz on PostgreSQL; see store::time). Lease and due times were
-- milliseconds since the epoch, audit times RFC 3339 text of varying precision.
ALTER TABLE job_queue ADD COLUMN lease_expires_at text;
UPDATE job_queue
    SET lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', lease_expires_ms / 1000.0, 'unixepoch')
    WHERE lease_expires_ms IS NOT NULL;
ALTER TABLE job_queue DROP COLUMN lease_expires_ms;

-- SQLite adds a NOT NULL column only with a default; the epoch means "due at once".
DROP INDEX webhook_messages_due;
ALTER TABLE webhook_messages
    ADD COLUMN next_attempt_at text NOT NULL DEFAULT '1970-01-01T00:00:00.000Z';
ALTER TABLE webhook_messages ADD COLUMN lease_expires_at text;
UPDATE webhook_messages
    SET next_attempt_at  = strftime('%Y-%m-%dT%H:%M:%fZ', next_attempt_ms / 1000.0, 'unixepoch'),
        lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', lease_expires_ms / 1000.0, 'unixepoch'),
        created_at       = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
        delivered_at     = strftime('%Y-%m-%dT%H:%M:%fZ', delivered_at);
ALTER TABLE webhook_messages DROP COLUMN next_attempt_ms;
ALTER TABLE webhook_messages DROP COLUMN lease_expires_ms;
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);

UPDATE webhook_attempts SET attempted_at = strftime('%Y-%m-%dT%H:%M:%fZ', attempted_at);

ALTER TABLE webhook_secrets ADD COLUMN expires_at text;
UPDATE webhook_secrets
    SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_ms / 1000.0, 'unixepoch'),
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at);
ALTER TABLE webhook_secrets DROP COLUMN expires_ms;

UPDATE api_keys
    SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
        revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', revoked_at);
