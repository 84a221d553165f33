-- Claiming webhook messages cost O(pending messages): each candidate was checked for an
-- earlier pending message of its job. Now each job's oldest pending message (its head, the
-- only one that may be sent) is marked `ready` (0 or 1), kept so by the store in the
-- transaction that changes the job's messages, and claims read the ready ones in due order
-- from a partial index.
ALTER TABLE webhook_messages ADD COLUMN ready integer NOT NULL DEFAULT 0;
UPDATE webhook_messages SET ready = 1
WHERE state = 'pending'
  AND NOT EXISTS (SELECT 1 FROM webhook_messages e
                  WHERE e.job_id = webhook_messages.job_id AND e.state = 'pending'
                    AND e.sequence < webhook_messages.sequence);
DROP INDEX webhook_messages_due;
CREATE INDEX webhook_messages_ready ON webhook_messages (next_attempt_at, sequence) WHERE ready;
CREATE INDEX webhook_messages_pending_of_job ON webhook_messages (job_id, sequence)
    WHERE state = 'pending';

-- Finished jobs stay in the queue; the claim reads only the pending ones.
DROP INDEX job_queue_claimable;
CREATE INDEX job_queue_pending ON job_queue (position) WHERE state = 'pending';
