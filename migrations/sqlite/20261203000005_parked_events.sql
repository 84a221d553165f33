-- Events a subscription could not read: each is retried a few times, then parked here and the
-- subscription moves on past it instead of stopping for good. `assessment-service parked`
-- lists them and marks them resolved. Times are text in the store's one fixed format.
CREATE TABLE parked_events
(
    subscription text    NOT NULL,
    position     integer NOT NULL,
    job_id       text    NOT NULL,
    event_type   text    NOT NULL,
    error        text    NOT NULL,
    parked_at    text    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at  text,
    PRIMARY KEY (subscription, position)
);
