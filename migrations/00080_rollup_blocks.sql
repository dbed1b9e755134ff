-- +goose Up
-- Rollups of blocks of hours beside the hourly ones, and histograms packed (docs/reporting.md,
-- "Rollups"): a report of a day by resource read 23 hourly rows of every agent (11,500 rows
-- on a 1M-interaction day), each with four arrays whose output cost more than the rest of the
-- query; it now reads the few aligned blocks that tile its whole hours, about 5 of them, and
-- two byte strings a row.
--
-- hours is a row's length: 1 (the hour that starts at `hour`), or a block of 2, 4, 8 or 24
-- hours that starts at `hour`, aligned on UTC midnight (date_bin from 2000-01-01 UTC). A
-- block's figures are the sums of its hours', histograms added bucket by bucket; the worker
-- keeps every length of each group it changes in the same transaction as the hour.
ALTER TABLE report_rollups ADD COLUMN hours int NOT NULL DEFAULT 1 CHECK (hours IN (1, 2, 4, 8, 24));
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_pkey;
ALTER TABLE report_rollups ADD PRIMARY KEY (dim, hours, hour, key);
ALTER TABLE report_rollups ADD CONSTRAINT report_rollups_aligned
    CHECK (hour = date_bin(make_interval(hours => hours), hour, '2000-01-01 00:00:00+00'));

-- The blocks of the hours kept so far (ixnstore rollups rebuild does the same: RollupBlocksFill).
WITH spans AS (SELECT unnest('{2,4,8,24}'::int[]) AS hours),
rows AS (
    SELECT r.*, s.hours AS span, date_bin(make_interval(hours => s.hours), r.hour, '2000-01-01 00:00:00+00') AS start
      FROM report_rollups r CROSS JOIN spans s
     WHERE r.hours = 1
), handle AS (
    SELECT dim, span, start, key, array_agg(b ORDER BY b) AS buckets, array_agg(n ORDER BY b) AS counts
      FROM (SELECT dim, span, start, key, handle_buckets[i] AS b, sum(handle_counts[i])::bigint AS n
              FROM rows CROSS JOIN LATERAL generate_subscripts(handle_buckets, 1) AS i
             GROUP BY 1, 2, 3, 4, 5) x
     GROUP BY 1, 2, 3, 4
), connect AS (
    SELECT dim, span, start, key, array_agg(b ORDER BY b) AS buckets, array_agg(n ORDER BY b) AS counts
      FROM (SELECT dim, span, start, key, connect_buckets[i] AS b, sum(connect_counts[i])::bigint AS n
              FROM rows CROSS JOIN LATERAL generate_subscripts(connect_buckets, 1) AS i
             GROUP BY 1, 2, 3, 4, 5) x
     GROUP BY 1, 2, 3, 4
)
INSERT INTO report_rollups (dim, hours, hour, key, total, live, completed, abandoned, merged, moved, handle_sum_us,
                            handle_buckets, handle_counts, connected, connect_sum_us, connect_buckets,
                            connect_counts, transfers, conferences)
SELECT s.dim, s.span, s.start, s.key, s.total, s.live, s.completed, s.abandoned, s.merged, s.moved, s.handle_sum_us,
       coalesce(h.buckets, '{}'), coalesce(h.counts, '{}'), s.connected, s.connect_sum_us,
       coalesce(c.buckets, '{}'), coalesce(c.counts, '{}'), s.transfers, s.conferences
  FROM (SELECT dim, span, start, key, sum(total)::bigint AS total, sum(live)::bigint AS live,
               sum(completed)::bigint AS completed, sum(abandoned)::bigint AS abandoned,
               sum(merged)::bigint AS merged, sum(moved)::bigint AS moved,
               sum(handle_sum_us)::bigint AS handle_sum_us, sum(connected)::bigint AS connected,
               sum(connect_sum_us)::bigint AS connect_sum_us, sum(transfers)::bigint AS transfers,
               sum(conferences)::bigint AS conferences
          FROM rows GROUP BY 1, 2, 3, 4) s
  LEFT JOIN handle h USING (dim, span, start, key)
  LEFT JOIN connect c USING (dim, span, start, key);

-- Each histogram as one byte string (sql/functions/ixn_histogram_entries.sql says how) instead
-- of two arrays.
ALTER TABLE report_rollups ADD COLUMN handle_hist bytea NOT NULL DEFAULT '\x',
                           ADD COLUMN connect_hist bytea NOT NULL DEFAULT '\x';
UPDATE report_rollups
   SET handle_hist = coalesce((SELECT string_agg(int4send(u.b) || int8send(u.n), ''::bytea ORDER BY u.b)
                                 FROM unnest(handle_buckets, handle_counts) AS u(b, n)), '\x'),
       connect_hist = coalesce((SELECT string_agg(int4send(u.b) || int8send(u.n), ''::bytea ORDER BY u.b)
                                  FROM unnest(connect_buckets, connect_counts) AS u(b, n)), '\x');
ALTER TABLE report_rollups ALTER COLUMN handle_hist DROP DEFAULT, ALTER COLUMN connect_hist DROP DEFAULT,
                           DROP COLUMN handle_buckets, DROP COLUMN handle_counts,
                           DROP COLUMN connect_buckets, DROP COLUMN connect_counts;

-- +goose Down
ALTER TABLE report_rollups ADD COLUMN handle_buckets int[] NOT NULL DEFAULT '{}', ADD COLUMN handle_counts bigint[] NOT NULL DEFAULT '{}',
                           ADD COLUMN connect_buckets int[] NOT NULL DEFAULT '{}', ADD COLUMN connect_counts bigint[] NOT NULL DEFAULT '{}';
UPDATE report_rollups
   SET handle_buckets = coalesce((SELECT array_agg(('x' || encode(substring(handle_hist FROM i * 12 + 1 FOR 4), 'hex'))::bit(32)::int ORDER BY i)
                           FROM generate_series(0, length(handle_hist) / 12 - 1) AS i), '{}'),
       handle_counts = coalesce((SELECT array_agg(('x' || encode(substring(handle_hist FROM i * 12 + 5 FOR 8), 'hex'))::bit(64)::bigint ORDER BY i)
                          FROM generate_series(0, length(handle_hist) / 12 - 1) AS i), '{}'),
       connect_buckets = coalesce((SELECT array_agg(('x' || encode(substring(connect_hist FROM i * 12 + 1 FOR 4), 'hex'))::bit(32)::int ORDER BY i)
                           FROM generate_series(0, length(connect_hist) / 12 - 1) AS i), '{}'),
       connect_counts = coalesce((SELECT array_agg(('x' || encode(substring(connect_hist FROM i * 12 + 5 FOR 8), 'hex'))::bit(64)::bigint ORDER BY i)
                          FROM generate_series(0, length(connect_hist) / 12 - 1) AS i), '{}');
ALTER TABLE report_rollups ALTER COLUMN handle_buckets DROP DEFAULT, ALTER COLUMN handle_counts DROP DEFAULT,
                           ALTER COLUMN connect_buckets DROP DEFAULT, ALTER COLUMN connect_counts DROP DEFAULT,
                           DROP COLUMN handle_hist, DROP COLUMN connect_hist;
DELETE FROM report_rollups WHERE hours <> 1;
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_aligned;
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_pkey;
ALTER TABLE report_rollups ADD PRIMARY KEY (dim, hour, key);
ALTER TABLE report_rollups DROP COLUMN hours;
