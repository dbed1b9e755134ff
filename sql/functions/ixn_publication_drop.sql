-- ixn_publication_drop removes the day partitions of publication that end at or before
-- p_before, oldest first, at most p_max of them, and returns the days removed with about how
-- many events each held. Only published events are there, so nothing unpublished can go; a
-- day goes whole, in the time it takes to drop a table, whatever it holds. A lock it cannot get
-- within a few seconds (a long read of publication) fails the call, to be tried again, rather
-- than queue the streams behind it.
CREATE OR REPLACE FUNCTION ixn_publication_drop(p_before timestamptz, p_max int)
RETURNS TABLE(day date, events_about bigint)
LANGUAGE plpgsql AS $$
DECLARE
    part record;
BEGIN
    SET LOCAL lock_timeout = '5s';
    FOR part IN
        SELECT k.day, k.relname, k.events_about FROM ixn_publication_days_kept() k
         WHERE (k.day + 1)::timestamp AT TIME ZONE 'UTC' <= p_before
         ORDER BY k.day
         LIMIT p_max
    LOOP
        -- Another instance's retention may have dropped it since it was listed.
        CONTINUE WHEN to_regclass(format('%I', part.relname)) IS NULL;
        EXECUTE format('DROP TABLE IF EXISTS %I', part.relname);
        day := part.day;
        events_about := part.events_about;
        RETURN NEXT;
    END LOOP;
END $$;
