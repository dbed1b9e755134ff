-- ixn_publication_days_kept lists the day partitions of publication (publication_YYYYMMDD),
-- oldest first, with about how many events each holds (the planner's statistics: counting
-- would read the day) and its size with its indexes.
CREATE OR REPLACE FUNCTION ixn_publication_days_kept() RETURNS TABLE(day date, relname text, events_about bigint, bytes bigint)
LANGUAGE sql STABLE AS $$
    SELECT to_date(substr(c.relname, 13), 'YYYYMMDD'), c.relname::text, greatest(c.reltuples, 0)::bigint,
           pg_total_relation_size(c.oid)
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'publication'::regclass AND c.relname ~ '^publication_[0-9]{8}$'
     ORDER BY 1
$$;
