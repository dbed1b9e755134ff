-- ixn_duration_bucket is the histogram bucket of a duration in microseconds, for the rollups of
-- the aggregates report: bucket 0 holds what is shorter than a millisecond; bucket k ≥ 1 holds
-- [1 ms · 2^((k-1)/16), 1 ms · 2^(k/16)), sixteen buckets a doubling, so a percentile read as
-- its bucket's middle is within 2.2% of the true value. The one definition of the buckets:
-- rollup.Histogram reads them back (bucket → duration) and never computes one.
CREATE OR REPLACE FUNCTION ixn_duration_bucket(p_us bigint) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN p_us < 1000 THEN 0
                ELSE 1 + floor(16 * ln(p_us / 1000.0) / ln(2.0))::int END
$$;
