-- Readers of the log in commit order read only below a horizon that no transaction still
-- able to commit an event is older than. The horizon was the oldest transaction running
-- anywhere in the cluster, so any transaction left open (in another database, a psql session
-- that ran `BEGIN; SELECT txid_current();`) held back every job, status, feed read and
-- webhook for as long as it stayed open.
--
-- Now every transaction that appends events takes a shared transaction-level advisory lock
-- (keys 1702260341, 1) before its first event, and readers wait only for transactions that
-- hold it. That is safe because the lock is taken before the writer has a transaction id:
-- events must be the first thing a transaction writes (the trigger refuses otherwise), so a
-- writer without an id yet will get one newer than any reader's snapshot.

CREATE FUNCTION events_take_writer_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('assessment.events_writer', true) IS DISTINCT FROM 'on' THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'events must be the first rows a transaction writes'
                USING HINT = 'a reader of the log could otherwise pass them before they commit';
        END IF;
        PERFORM pg_advisory_xact_lock_shared(1702260341, 1);
        PERFORM set_config('assessment.events_writer', 'on', true);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_writers_take_the_lock BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_take_writer_lock();

-- Events of transactions older than this are all committed or rolled back: the oldest of the
-- transactions running at the caller's snapshot that either hold the writers' lock now or
-- have ended since (their rows are not in the snapshot), and at most the snapshot's end.
-- A transaction that was running and does not hold the lock has an id already, so it can
-- never append an event: it is not waited for.
CREATE FUNCTION events_horizon() RETURNS xid8
LANGUAGE sql STABLE AS $$
    SELECT LEAST(
        pg_snapshot_xmax(pg_current_snapshot()),
        (SELECT min(running.xid)
         FROM pg_snapshot_xip(pg_current_snapshot()) AS running(xid)
         WHERE pg_xact_status(running.xid) IS DISTINCT FROM 'in progress'
            OR xid(running.xid) IN (
                SELECT own.transactionid
                FROM pg_locks writer
                JOIN pg_locks own ON own.pid = writer.pid AND own.locktype = 'transactionid'
                                 AND own.mode = 'ExclusiveLock' AND own.granted
                WHERE writer.locktype = 'advisory' AND writer.granted
                  AND writer.classid = 1702260341 AND writer.objid = 1 AND writer.objsubid = 2
                  AND writer.database = (SELECT oid FROM pg_database
                                         WHERE datname = current_database()))))
$$;
