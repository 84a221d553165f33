-- The job-queue and webhook-message states are enums in the code (store::job_queue::JobState,
-- store::webhook_messages::MessageState); the database refuses any other value. SQLite cannot
-- add a CHECK to an existing table, so triggers stand in for it.
CREATE TRIGGER job_queue_state_known_insert BEFORE INSERT ON job_queue
    WHEN NEW.state NOT IN ('pending', 'done')
BEGIN
    SELECT RAISE(ABORT, 'job_queue.state must be pending or done');
END;
CREATE TRIGGER job_queue_state_known_update BEFORE UPDATE OF state ON job_queue
    WHEN NEW.state NOT IN ('pending', 'done')
BEGIN
    SELECT RAISE(ABORT, 'job_queue.state must be pending or done');
END;
CREATE TRIGGER webhook_messages_state_known_insert BEFORE INSERT ON webhook_messages
    WHEN NEW.state NOT IN ('pending', 'delivered', 'failed', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'webhook_messages.state must be pending, delivered, failed or cancelled');
END;
CREATE TRIGGER webhook_messages_state_known_update BEFORE UPDATE OF state ON webhook_messages
    WHEN NEW.state NOT IN ('pending', 'delivered', 'failed', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'webhook_messages.state must be pending, delivered, failed or cancelled');
END;
