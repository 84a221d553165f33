-- MAX_QUEUED_JOBS_PER_ORG counts an organization's unfinished jobs on every new request.
CREATE INDEX job_queue_pending_of_organization ON job_queue (organization_id)
    WHERE state = 'pending';
