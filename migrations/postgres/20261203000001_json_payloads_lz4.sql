-- Event payloads are kept as JSON text (`json`) rather than in `jsonb`'s parsed form: nothing
-- queries inside them and every reader wants the text back, and turning a `Completed` event's
-- whole assessment from `jsonb` into text on each read was most of the cost of reading the
-- log. (Writers still send `jsonb`, which PostgreSQL casts, so the text is `jsonb`'s
-- normalized form.) The change rewrites the table once, locked meanwhile: seconds per hundred
-- thousand events.
--
-- Large values (payloads, the assessment views) are compressed with lz4 instead of the
-- default pglz: several times faster to compress and to read back, which is most of the cost
-- of writing a finished job and of rebuilding the views. The rewrite above compresses the
-- existing payloads with it too. A server built without lz4 keeps pglz; nothing else depends on
-- the method.
DO $$
BEGIN
    BEGIN
        ALTER TABLE events
            ALTER COLUMN payload TYPE json USING payload::json,
            ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE assessment_view
            ALTER COLUMN info SET COMPRESSION lz4,
            ALTER COLUMN questions SET COMPRESSION lz4;
        ALTER TABLE task_status_view ALTER COLUMN view SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
        RAISE NOTICE 'lz4 is not available; large values stay compressed with pglz';
        ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json;
    END;
END
$$;
