-- Recording a webhook delivery attempt in one round trip. Each attempt must be recorded before
-- the job's next message goes out (so a crash repeats at most the one in flight), which puts
-- this on the path of every later message of the job: as separate statements it took six
-- round trips (lock, insert, update, head, commit). The function does the same steps, in the
-- same order, inside the caller's single statement.
--
-- The record commits without waiting for its WAL flush (synchronous_commit off for this
-- transaction alone): it is visible at once, and only a crash of PostgreSQL itself (not of the
-- service) within a fraction of a second could lose it, which makes the message go out once
-- more, with the same webhook-id, as after any crash in flight. Every later message of the job
-- waits for this commit, so a flush per message was on their path.
--
-- p_message_id NULL: nothing to settle (only hand back leases). p_attempt_id NULL: no attempt
-- to record (the target was gone). p_release: also hand back the leases `p_token` still holds
-- on the job's pending messages.
CREATE FUNCTION webhook_settle(
    p_job_id          text,
    p_token           text,
    p_message_id      text,
    p_state           text,
    p_attempts        integer,
    p_next_attempt_at timestamptz,
    p_delivered_at    timestamptz,
    p_gone            boolean,
    p_attempt_id      text,
    p_attempted_at    timestamptz,
    p_status_code     integer,
    p_error           text,
    p_duration_ms     bigint,
    p_response_body   text,
    p_release         boolean
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    -- The job's target row lock, as every change to a job's pending messages takes it.
    PERFORM 1 FROM webhook_targets WHERE job_id = p_job_id FOR UPDATE;
    IF p_message_id IS NOT NULL THEN
        IF p_attempt_id IS NOT NULL THEN
            INSERT INTO webhook_attempts
                (id, message_id, attempted_at, status_code, error, duration_ms, response_body)
            VALUES (p_attempt_id, p_message_id, p_attempted_at, p_status_code, p_error,
                    p_duration_ms, p_response_body);
        END IF;
        UPDATE webhook_messages
        SET state = p_state, attempts = p_attempts,
            next_attempt_at = COALESCE(p_next_attempt_at, next_attempt_at),
            delivered_at = COALESCE(p_delivered_at, delivered_at),
            lease_owner = NULL, lease_expires_at = NULL
        WHERE id = p_message_id AND lease_owner = p_token;
        IF p_gone THEN
            UPDATE webhook_targets SET gone = 1 WHERE job_id = p_job_id;
            UPDATE webhook_messages SET state = 'cancelled'
            WHERE job_id = p_job_id AND state = 'pending';
        END IF;
    END IF;
    IF p_release THEN
        UPDATE webhook_messages SET lease_owner = NULL, lease_expires_at = NULL
        WHERE job_id = p_job_id AND lease_owner = p_token AND state = 'pending';
    END IF;
    -- The job's oldest pending message, and only it, is its ready head.
    UPDATE webhook_messages SET ready = NOT ready
    WHERE job_id = p_job_id
      AND (ready OR sequence = (SELECT MIN(sequence) FROM webhook_messages
                                WHERE job_id = p_job_id AND state = 'pending'))
      AND ready <> COALESCE(
          state = 'pending' AND sequence = (SELECT MIN(sequence) FROM webhook_messages
                                            WHERE job_id = p_job_id AND state = 'pending'),
          FALSE);
END;
$$;
