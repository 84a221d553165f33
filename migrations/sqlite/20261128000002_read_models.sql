-- Read models, the job queue, subscription checkpoints and API keys. JSON documents are kept
-- as text so both backends store them alike.
CREATE TABLE subscription_checkpoints
(
    name          text    PRIMARY KEY,
    last_txid     integer NOT NULL,
    last_position integer NOT NULL
) STRICT;

CREATE TABLE task_status_view
(
    job_id          text   PRIMARY KEY,
    organization_id text   NOT NULL,
    last_position   integer NOT NULL,
    view            text   NOT NULL
) STRICT;

CREATE TABLE assessment_view
(
    assessment_id   text PRIMARY KEY,
    organization_id text NOT NULL,
    job_id          text NOT NULL,
    info            text NOT NULL,
    questions       text NOT NULL
) STRICT;

-- Jobs waiting for or held by a worker. Fed by the read-model subscription; a lease that runs
-- out makes the job claimable again, so a crashed worker's job is finished by another.
CREATE TABLE job_queue
(
    job_id           text    PRIMARY KEY,
    organization_id  text    NOT NULL,
    position         integer  NOT NULL,
    state            text    NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_ms integer
) STRICT;

CREATE INDEX job_queue_claimable ON job_queue (state, position);

CREATE TABLE api_keys
(
    id              text PRIMARY KEY,
    name            text NOT NULL,
    organization_id text NOT NULL,
    -- SHA-256 of the key, hex. The key itself is never stored.
    key_hash        text NOT NULL UNIQUE,
    key_prefix      text NOT NULL,
    created_at      text NOT NULL,
    revoked_at      text
) STRICT;
