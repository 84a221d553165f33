-- Webhooks: where each job's updates go, the outbox of signed messages, every delivery
-- attempt, and the signing secrets of each API key.
CREATE TABLE webhook_targets
(
    job_id          text    PRIMARY KEY,
    organization_id text    NOT NULL,
    api_key_id      text,
    url             text    NOT NULL,
    -- Set when the listener answered 410 Gone: nothing more is sent for this job.
    gone            integer NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE webhook_messages
(
    -- The webhook-id: stable across retries and redeliveries.
    id               text    PRIMARY KEY,
    job_id           text    NOT NULL,
    organization_id  text    NOT NULL,
    sequence         integer  NOT NULL,
    payload          text    NOT NULL,
    -- pending | delivered | failed (retries exhausted) | cancelled (410 Gone)
    state            text    NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_ms  integer  NOT NULL,
    created_at       text    NOT NULL,
    delivered_at     text,
    lease_owner      text,
    lease_expires_ms integer,
    UNIQUE (job_id, sequence)
) STRICT;

CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_ms);

CREATE TABLE webhook_attempts
(
    id            text    PRIMARY KEY,
    message_id    text    NOT NULL REFERENCES webhook_messages (id),
    attempted_at  text    NOT NULL,
    status_code   integer,
    error         text,
    duration_ms   integer  NOT NULL,
    response_body text
) STRICT;

CREATE INDEX webhook_attempts_of_message ON webhook_attempts (message_id, attempted_at);

-- Secrets sign with HMAC, so they are kept, not hashed. A rotated-out secret keeps signing
-- until expires_ms.
CREATE TABLE webhook_secrets
(
    api_key_id text    NOT NULL,
    version    integer NOT NULL,
    secret     text    NOT NULL,
    created_at text    NOT NULL,
    expires_ms integer,
    PRIMARY KEY (api_key_id, version)
) STRICT;
