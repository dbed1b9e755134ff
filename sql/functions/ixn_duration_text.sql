-- ixn_duration_text writes a duration in milliseconds as a person reads it: 300 ms, 10 s,
-- 1.5 s, 2 min, 1 h (not interval's 00:00:00.3).
CREATE OR REPLACE FUNCTION ixn_duration_text(p_ms bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_ms < 1000 THEN p_ms || ' ms'
        WHEN p_ms % 3600000 = 0 THEN (p_ms / 3600000) || ' h'
        WHEN p_ms % 60000 = 0 THEN (p_ms / 60000) || ' min'
        ELSE trim(trailing '.' FROM trim(trailing '0' FROM to_char(p_ms / 1000.0, 'FM999999990.999'))) || ' s'
    END
$$;
