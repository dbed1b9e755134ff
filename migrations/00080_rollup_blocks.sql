-- +goose Up
-- Rollups of blocks of hours beside the hourly ones (docs/reporting.md, "Rollups"): a report
-- of a day by resource read 23 hourly rows of every agent (11,500 rows on a 1M-interaction
-- day); it now reads the few aligned blocks that tile its whole hours, about 5 of them.
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

-- +goose Down
DELETE FROM report_rollups WHERE hours <> 1;
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_aligned;
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_pkey;
ALTER TABLE report_rollups ADD PRIMARY KEY (dim, hour, key);
ALTER TABLE report_rollups DROP COLUMN hours;
