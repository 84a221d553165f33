-- Claiming webhook messages cost O(pending messages): each candidate was checked for an
-- earlier pending message of its job. Now each job's oldest pending message (its head, the
-- only one that may be sent) is marked `ready`, kept so by the store in the transaction that
-- changes the job's messages, and claims read the ready ones in due order from a partial index.
ALTER TABLE webhook_messages ADD COLUMN ready boolean NOT NULL DEFAULT false;
UPDATE webhook_messages m SET ready = true
WHERE m.state = 'pending'
  AND NOT EXISTS (SELECT 1 FROM webhook_messages e
                  WHERE e.job_id = m.job_id AND e.state = 'pending' AND e.sequence < m.sequence);
DROP INDEX webhook_messages_due;
CREATE INDEX webhook_messages_ready ON webhook_messages (next_attempt_at, sequence) WHERE ready;
CREATE INDEX webhook_messages_pending_of_job ON webhook_messages (job_id, sequence)
    WHERE state = 'pending';

-- Finished jobs stay in the queue; the claim reads only the pending ones.
DROP INDEX job_queue_claimable;
CREATE INDEX job_queue_pending ON job_queue (position) WHERE state = 'pending';
