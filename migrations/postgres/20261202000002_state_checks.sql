-- The job-queue and webhook-message states are enums in the code (store::job_queue::JobState,
-- store::webhook_messages::MessageState); the database refuses any other value.
ALTER TABLE job_queue
    ADD CONSTRAINT job_queue_state_known CHECK (state IN ('pending', 'done'));
ALTER TABLE webhook_messages
    ADD CONSTRAINT webhook_messages_state_known
        CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled'));
