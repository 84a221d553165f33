-- Events a subscription could not read: each is retried a few times, then parked here and the
-- subscription moves on past it instead of stopping for good. `assessment-service parked`
-- lists them and marks them resolved.
CREATE TABLE parked_events
(
    subscription text        NOT NULL,
    position     bigint      NOT NULL,
    job_id       text        NOT NULL,
    event_type   text        NOT NULL,
    error        text        NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    PRIMARY KEY (subscription, position)
);
