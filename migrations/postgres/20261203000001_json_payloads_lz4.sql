-- Event payloads are kept as the JSON text they were written as (`json`) rather than parsed
-- into `jsonb`: nothing queries inside them, every reader wants the text back, and turning a
-- `Completed` event's whole assessment from `jsonb` into text on each read was most of the
-- cost of reading the log. The text is still checked to be JSON on insert.
ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json;

-- Large values (a `Completed` event's assessment, the assessment views) are compressed with
-- lz4 instead of the default pglz: several times faster to compress and to read back, which
-- is most of the cost of writing a finished job and of rebuilding the views. A server built
-- without lz4 keeps pglz; nothing else depends on the method.
DO $$
BEGIN
    ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
    ALTER TABLE assessment_view
        ALTER COLUMN info SET COMPRESSION lz4,
        ALTER COLUMN questions SET COMPRESSION lz4;
    ALTER TABLE task_status_view ALTER COLUMN view SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available; large values stay compressed with pglz';
END
$$;
