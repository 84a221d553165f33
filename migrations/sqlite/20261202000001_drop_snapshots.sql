-- The service never enabled aggregate snapshots (every command folds the job's few dozen
-- events), so the table cqrs-es keeps them in was always empty.
DROP TABLE IF EXISTS snapshots;
