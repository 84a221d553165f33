-- PostgreSQL's migration of this number keeps event payloads as JSON text and compresses
-- large values with lz4. SQLite already keeps JSON as text and does not compress values, so
-- there is nothing to do here; the file keeps both backends' migration numbers alike.
SELECT 1;
