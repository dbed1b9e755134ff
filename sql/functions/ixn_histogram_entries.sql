-- ixn_histogram_entries reads a histogram of the rollups as report_rollups keeps it
-- (handle_hist, connect_hist): 12 bytes a bucket, its number (int4) then its count (int8),
-- big-endian as int4send and int8send write them, buckets ascending; empty: no duration.
-- SQL packs one with string_agg(int4send(bucket) || int8send(n), '' ORDER BY bucket);
-- rollup.Histogram (Pack, AddPacked) writes and reads the same bytes. Packed, a row leaves
-- the server as it is stored: a report reads thousands of them, and four arrays a row cost
-- their output function more than the rest of the query.
CREATE OR REPLACE FUNCTION ixn_histogram_entries(p_hist bytea) RETURNS TABLE (bucket int, n bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || encode(substring(p_hist FROM i * 12 + 1 FOR 4), 'hex'))::bit(32)::int,
           ('x' || encode(substring(p_hist FROM i * 12 + 5 FOR 8), 'hex'))::bit(64)::bigint
      FROM generate_series(0, length(p_hist) / 12 - 1) AS i
     ORDER BY i
$$;
