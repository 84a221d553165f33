-- PostgreSQL's migration of this number adds a function that records a webhook delivery in
-- one round trip. SQLite runs in the service's process, where a statement costs no round trip,
-- so it keeps recording with separate statements; the file keeps both backends' migration
-- numbers alike.
SELECT 1;
