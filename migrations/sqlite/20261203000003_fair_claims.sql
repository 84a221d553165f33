-- Fair claims across organizations: each organization's last claim, so a worker takes the
-- oldest waiting job of the organization served longest ago (one never served first) rather
-- than the oldest job overall, and one organization's backlog does not hold up another's job.
-- Times are text in the store's one fixed format, so text order is time order.
CREATE TABLE job_queue_turns
(
    organization_id text PRIMARY KEY,
    last_claimed_at text NOT NULL
);
