-- ixn_publication_days makes the day partitions of publication (publication_YYYYMMDD, the
-- events published on that UTC day) from the day of p_from to that of p_to that do not exist
-- yet, and returns how many it made. The dispatcher calls it for today and the days ahead
-- before it publishes, and again as days pass, so that a day's partition exists before its
-- first event; the seed calls it for the days it fills. Making a partition locks publication
-- briefly: a lock it cannot get within a few seconds fails the call, to be tried again, rather
-- than queue the streams' reads behind it.
CREATE OR REPLACE FUNCTION ixn_publication_days(p_from timestamptz, p_to timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    made int := 0;
BEGIN
    IF p_to - p_from > interval '3660 days' THEN
        RAISE EXCEPTION 'refusing to make more than ten years of publication partitions (% to %)', p_from, p_to
            USING ERRCODE = '22023';
    END IF;
    SET LOCAL lock_timeout = '5s';
    FOR day IN SELECT generate_series((p_from AT TIME ZONE 'UTC')::date, (p_to AT TIME ZONE 'UTC')::date,
                                      interval '1 day')::date LOOP
        CONTINUE WHEN to_regclass(format('%I', 'publication_' || to_char(day, 'YYYYMMDD'))) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I PARTITION OF publication FOR VALUES FROM (%L) TO (%L)',
                       'publication_' || to_char(day, 'YYYYMMDD'),
                       day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;
