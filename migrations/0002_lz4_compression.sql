-- lz4 instead of pglz for the large, usually TOASTed columns: about 15-30 % more upserts/s for
-- 5 KB events, at a similar size on disk (measurements in docs/database.md). New daily
-- partitions copy it from the parent (LIKE ... INCLUDING COMPRESSION in src/db/partitions.ts).
-- Servers built without lz4 keep pglz.
DO $$
BEGIN
  ALTER TABLE events
    ALTER COLUMN body SET COMPRESSION lz4,
    ALTER COLUMN payload SET COMPRESSION lz4,
    ALTER COLUMN headers SET COMPRESSION lz4;
  -- SET COMPRESSION does not recurse to existing partitions: the default one is set here.
  ALTER TABLE events_default
    ALTER COLUMN body SET COMPRESSION lz4,
    ALTER COLUMN payload SET COMPRESSION lz4,
    ALTER COLUMN headers SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; events keep pglz compression';
END
$$;
