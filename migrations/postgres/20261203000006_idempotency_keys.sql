-- `Idempotency-Key` on `POST generate-ai`: the job a key (scoped to its organization) stands
-- for, and a hash of the request it came with. The job id is reserved here before the job is
-- created, so a retry, or a concurrent request with the same key, names the same job and
-- cannot create a second one. A key is kept 24 hours; after that it may be used again.
CREATE TABLE idempotency_keys
(
    organization_id text        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    job_id          text        NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
