-- The hourly rollups of the aggregates report (rollup/ keeps them, reporting/ reads them;
-- docs/reporting.md, "Rollups").

-- name: RollupTryLock :one
-- The one rollup worker of a database holds this session-level advisory lock on its
-- connection (a key pair of its own, apart from the locks of the dispatcher and the bridges).
SELECT pg_try_advisory_lock(hashtext('ixnstore report rollups'), hashtext(@name::text));

-- name: RollupStateEnsure :exec
-- A worker that finds no row starts from the first event: its rollups count live
-- interactions from the start.
INSERT INTO report_rollup_state (name, counts_live) VALUES (@name, true) ON CONFLICT (name) DO NOTHING;

-- name: RollupStateGet :one
SELECT * FROM report_rollup_state WHERE name = @name;

-- name: RollupStateAdvance :execrows
-- Moves the position of the worker in the transaction that applied the events up to it; refused
-- (no row) when another worker moved it since.
UPDATE report_rollup_state
   SET last_pub_seq = @last_pub_seq, settled_before = greatest(settled_before, @settled_before),
       leader = @leader, updated_at = now()
 WHERE name = @name AND last_pub_seq = @previous_pub_seq;

-- name: RollupStateReset :exec
-- Where a rebuild leaves the worker.
-- Interactions that ended within settle_seconds of the snapshot of the rebuild are read from the rows
-- by reports until the worker has passed their events.
INSERT INTO report_rollup_state (name, last_pub_seq, settled_before, leader, counts_live)
VALUES (@name::text, @last_pub_seq::bigint, now() - make_interval(0, 0, 0, 0, 0, 0, @settle_seconds::float8), sqlc.narg(leader)::text, true)
ON CONFLICT (name) DO UPDATE
   SET last_pub_seq = EXCLUDED.last_pub_seq, settled_before = EXCLUDED.settled_before,
       leader = EXCLUDED.leader, counts_live = true, updated_at = now();

-- name: RollupFactsOf :many
-- The interactions given, as the rollups count them now (a live one: no handle time).
-- (A bucket of -1: no duration.)
SELECT f.session_id, f.interaction_id, f.created_at, f.hour::timestamptz AS hour, f.media, f.node::text AS node,
       f.resources::text[] AS resources, f.outcome,
       f.ended::boolean AS ended, coalesce(f.handle_us, 0)::bigint AS handle_us,
       (f.connect_us IS NOT NULL)::boolean AS connected, coalesce(f.connect_us, 0)::bigint AS connect_us,
       f.transfers, f.conferences,
       coalesce(ixn_duration_bucket(f.handle_us), -1)::int AS handle_bucket,
       coalesce(ixn_duration_bucket(f.connect_us), -1)::int AS connect_bucket
  FROM (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@interaction_ids::text[]) AS interaction_id) AS k
  JOIN report_interaction_facts f ON f.session_id = k.session_id AND f.interaction_id = k.interaction_id;

-- name: RollupCountedOf :many
-- What the rollups hold of the interactions given.
SELECT c.session_id, c.interaction_id, c.created_at, c.hour, c.media, c.node, c.resources, c.outcome,
       c.handle_us, c.connect_us, c.transfers, c.conferences, c.handle_bucket, c.connect_bucket
  FROM (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@interaction_ids::text[]) AS interaction_id) AS k
  JOIN report_rollup_counted c ON c.session_id = k.session_id AND c.interaction_id = k.interaction_id;

-- name: RollupCountedPut :exec
-- Records what the rollups hold of interactions (a JSON array of report_rollup_counted rows).
INSERT INTO report_rollup_counted AS c (session_id, interaction_id, created_at, hour, media, node, resources, outcome,
                                        handle_us, connect_us, transfers, conferences, handle_bucket, connect_bucket)
SELECT x.session_id, x.interaction_id, x.created_at, x.hour, x.media, x.node, x.resources, x.outcome,
       x.handle_us, x.connect_us, x.transfers, x.conferences, x.handle_bucket, x.connect_bucket
  FROM jsonb_populate_recordset(NULL::report_rollup_counted, @rows::jsonb) AS x
ON CONFLICT (session_id, interaction_id) DO UPDATE
   SET created_at = EXCLUDED.created_at, hour = EXCLUDED.hour, media = EXCLUDED.media, node = EXCLUDED.node, resources = EXCLUDED.resources,
       outcome = EXCLUDED.outcome, handle_us = EXCLUDED.handle_us, connect_us = EXCLUDED.connect_us,
       transfers = EXCLUDED.transfers, conferences = EXCLUDED.conferences,
       handle_bucket = EXCLUDED.handle_bucket, connect_bucket = EXCLUDED.connect_bucket;

-- name: RollupCountedDelete :exec
DELETE FROM report_rollup_counted c
 USING (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@interaction_ids::text[]) AS interaction_id) AS k
 WHERE c.session_id = k.session_id AND c.interaction_id = k.interaction_id;

-- name: RollupsOf :many
-- The rollup rows of the groups given (an hour or a block of hours), locked for the update by
-- the worker.
SELECT r.*
  FROM (SELECT unnest(@dims::text[]) AS dim, unnest(@spans::int[]) AS hours, unnest(@starts::timestamptz[]) AS hour,
               unnest(@keys::text[]) AS key) AS k
  JOIN report_rollups r ON r.dim = k.dim AND r.hours = k.hours AND r.hour = k.hour AND r.key = k.key
   FOR UPDATE OF r;

-- name: RollupsPut :exec
-- Writes rollup rows whole (a JSON array of report_rollups rows).
INSERT INTO report_rollups AS r (dim, hours, hour, key, total, live, completed, abandoned, merged, moved, handle_sum_us,
                                  handle_hist, connected, connect_sum_us, connect_hist, transfers, conferences)
SELECT x.dim, x.hours, x.hour, x.key, x.total, x.live, x.completed, x.abandoned, x.merged, x.moved, x.handle_sum_us,
       x.handle_hist, x.connected, x.connect_sum_us, x.connect_hist, x.transfers, x.conferences
  FROM jsonb_populate_recordset(NULL::report_rollups, @rows::jsonb) AS x
ON CONFLICT (dim, hours, hour, key) DO UPDATE
   SET total = EXCLUDED.total, live = EXCLUDED.live, completed = EXCLUDED.completed, abandoned = EXCLUDED.abandoned,
       merged = EXCLUDED.merged, moved = EXCLUDED.moved, handle_sum_us = EXCLUDED.handle_sum_us,
       handle_hist = EXCLUDED.handle_hist, connected = EXCLUDED.connected, connect_sum_us = EXCLUDED.connect_sum_us,
       connect_hist = EXCLUDED.connect_hist,
       transfers = EXCLUDED.transfers, conferences = EXCLUDED.conferences;

-- name: RollupsDelete :exec
-- Removes the rows of groups that no longer hold an interaction.
DELETE FROM report_rollups r
 USING (SELECT unnest(@dims::text[]) AS dim, unnest(@spans::int[]) AS hours, unnest(@starts::timestamptz[]) AS hour,
               unnest(@keys::text[]) AS key) AS k
 WHERE r.dim = k.dim AND r.hours = k.hours AND r.hour = k.hour AND r.key = k.key;

-- name: RollupClear :exec
-- Empties the rollups for a rebuild (DELETE, not TRUNCATE: reports keep reading the old ones
-- until the rebuild commits).
WITH counted AS (DELETE FROM report_rollup_counted)
DELETE FROM report_rollups;

-- name: RollupCountAll :execrows
-- Counts every interaction, as the worker would have (the rebuild).
INSERT INTO report_rollup_counted (session_id, interaction_id, created_at, hour, media, node, resources, outcome,
                                   handle_us, connect_us, transfers, conferences, handle_bucket, connect_bucket)
SELECT f.session_id, f.interaction_id, f.created_at, f.hour, f.media, f.node, f.resources, f.outcome,
       f.handle_us, f.connect_us, f.transfers, f.conferences,
       ixn_duration_bucket(f.handle_us), ixn_duration_bucket(f.connect_us)
  FROM report_interaction_facts f;

-- name: RollupSumAll :exec
-- The rollups of everything counted (the rebuild): each group of each hour, with its
-- histograms packed (sql/functions/ixn_histogram_entries.sql).
WITH groups AS (
    SELECT 'media'::text AS dim, c.hour, c.media AS key, c.outcome, c.handle_us, c.connect_us, c.transfers, c.conferences,
           c.handle_bucket, c.connect_bucket
      FROM report_rollup_counted c
    UNION ALL
    SELECT 'node', c.hour, c.node, c.outcome, c.handle_us, c.connect_us, c.transfers, c.conferences,
           c.handle_bucket, c.connect_bucket
      FROM report_rollup_counted c
    UNION ALL
    SELECT 'resource', c.hour, r.resource, c.outcome, c.handle_us, c.connect_us, c.transfers, c.conferences,
           c.handle_bucket, c.connect_bucket
      FROM report_rollup_counted c CROSS JOIN LATERAL unnest(c.resources) AS r(resource)
), handle AS (
    SELECT dim, hour, key, string_agg(int4send(bucket) || int8send(n), ''::bytea ORDER BY bucket) AS hist
      FROM (SELECT dim, hour, key, handle_bucket AS bucket, count(*) AS n
              FROM groups WHERE handle_us IS NOT NULL GROUP BY 1, 2, 3, 4) b
     GROUP BY 1, 2, 3
), connect AS (
    SELECT dim, hour, key, string_agg(int4send(bucket) || int8send(n), ''::bytea ORDER BY bucket) AS hist
      FROM (SELECT dim, hour, key, connect_bucket AS bucket, count(*) AS n
              FROM groups WHERE connect_us IS NOT NULL GROUP BY 1, 2, 3, 4) b
     GROUP BY 1, 2, 3
)
INSERT INTO report_rollups (dim, hour, key, total, live, completed, abandoned, merged, moved, handle_sum_us,
                            handle_hist, connected, connect_sum_us, connect_hist, transfers, conferences)
SELECT s.dim, s.hour, s.key, s.total, s.live, s.completed, s.abandoned, s.merged, s.moved, s.handle_sum_us,
       coalesce(h.hist, ''::bytea), s.connected, s.connect_sum_us, coalesce(c.hist, ''::bytea), s.transfers, s.conferences
  FROM (SELECT dim, hour, key, count(*) AS total,
               count(*) FILTER (WHERE outcome = 'live') AS live,
               count(*) FILTER (WHERE outcome = 'completed') AS completed,
               count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
               count(*) FILTER (WHERE outcome = 'merged') AS merged,
               count(*) FILTER (WHERE outcome = 'moved') AS moved,
               coalesce(sum(handle_us), 0)::bigint AS handle_sum_us,
               count(connect_us) AS connected, coalesce(sum(connect_us), 0)::bigint AS connect_sum_us,
               sum(transfers)::bigint AS transfers, sum(conferences)::bigint AS conferences
          FROM groups GROUP BY 1, 2, 3) s
  LEFT JOIN handle h USING (dim, hour, key)
  LEFT JOIN connect c USING (dim, hour, key);

-- name: RollupBlocksFill :exec
-- The blocks of 2, 4, 8 and 24 hours from the hourly rollups (the rebuild, after RollupSumAll):
-- each block's figures are the sums of its hours', histograms added bucket by bucket. Blocks
-- start on multiples of their length from UTC midnight, as rollup.Blocks reads them.
WITH spans AS (SELECT unnest('{2,4,8,24}'::int[]) AS hours),
rows AS (
    SELECT r.*, s.hours AS span, date_bin(make_interval(hours => s.hours), r.hour, '2000-01-01 00:00:00+00') AS start
      FROM report_rollups r CROSS JOIN spans s
     WHERE r.hours = 1
), handle AS (
    SELECT dim, span, start, key, string_agg(int4send(b) || int8send(n), ''::bytea ORDER BY b) AS hist
      FROM (SELECT dim, span, start, key, e.bucket AS b, sum(e.n)::bigint AS n
              FROM rows CROSS JOIN LATERAL ixn_histogram_entries(handle_hist) AS e(bucket, n)
             GROUP BY 1, 2, 3, 4, 5) x
     GROUP BY 1, 2, 3, 4
), connect AS (
    SELECT dim, span, start, key, string_agg(int4send(b) || int8send(n), ''::bytea ORDER BY b) AS hist
      FROM (SELECT dim, span, start, key, e.bucket AS b, sum(e.n)::bigint AS n
              FROM rows CROSS JOIN LATERAL ixn_histogram_entries(connect_hist) AS e(bucket, n)
             GROUP BY 1, 2, 3, 4, 5) x
     GROUP BY 1, 2, 3, 4
)
INSERT INTO report_rollups (dim, hours, hour, key, total, live, completed, abandoned, merged, moved, handle_sum_us,
                            handle_hist, connected, connect_sum_us, connect_hist, transfers, conferences)
SELECT s.dim, s.span, s.start, s.key, s.total, s.live, s.completed, s.abandoned, s.merged, s.moved, s.handle_sum_us,
       coalesce(h.hist, ''::bytea), s.connected, s.connect_sum_us, coalesce(c.hist, ''::bytea), s.transfers, s.conferences
  FROM (SELECT dim, span, start, key, sum(total)::bigint AS total, sum(live)::bigint AS live,
               sum(completed)::bigint AS completed, sum(abandoned)::bigint AS abandoned,
               sum(merged)::bigint AS merged, sum(moved)::bigint AS moved,
               sum(handle_sum_us)::bigint AS handle_sum_us, sum(connected)::bigint AS connected,
               sum(connect_sum_us)::bigint AS connect_sum_us, sum(transfers)::bigint AS transfers,
               sum(conferences)::bigint AS conferences
          FROM rows GROUP BY 1, 2, 3, 4) s
  LEFT JOIN handle h USING (dim, span, start, key)
  LEFT JOIN connect c USING (dim, span, start, key);

-- name: RollupsRead :many
-- The rollups of a group dimension in the blocks given (lengths in hours and starts; the report
-- gives blocks that tile its whole hours, rollup.Blocks), each looked up by the primary key.
SELECT r.key, r.total, r.live, r.completed, r.abandoned, r.merged, r.moved, r.handle_sum_us, r.handle_hist,
       r.connected, r.connect_sum_us, r.connect_hist, r.transfers, r.conferences
  FROM (SELECT unnest(@spans::int[]) AS hours, unnest(@starts::timestamptz[]) AS hour) AS b
  JOIN report_rollups r ON r.dim = @dim::text AND r.hours = b.hours AND r.hour = b.hour;

-- name: RollupsComplete :many
-- What completes the rollup rows a report read to the rows now for the window
-- [created_from, created_to), as signed partial sums by group, outcome and histogram buckets
-- (sign 1: add; -1: take away):
--   +/- what the rollups hold of every interaction created in the edges given at the window's
--     start and end (a part of an hour the window cuts, added; or the rest of an hour whose
--     whole row was read, taken away; rollup.CoverOf), from report_rollup_counted by its
--     creation-time index;
--   + the interactions the worker may not have applied yet (pending), created in the window,
--     as their rows are now;
--   - what the rollups hold of the pending ones created in the window.
-- Pending: every interaction named by an event the worker has not applied, that is one
-- published after its position (last_pub_seq) or not published yet (after the dispatcher's
-- cursor: the dispatcher's position and its publication rows commit together), and the live
-- ones of the sessions released to no node (ixn_session_release changes their owner without
-- an event). Every other interaction is in the rollups as its row is now: the worker applied
-- the events of every change to it. Normally a handful (the worker's and the dispatcher's
-- lag), found by publication's number index and the outbox's (txid, id) index.
-- The pending ones are looked up one at a time (LATERAL, kept from being flattened into a join
-- by OFFSET 0): they are a handful, but the planner cannot know it, the outbox's statistics
-- being those of a table whose rows pass through, and a hash join of a whole day's
-- interactions cost 300 ms a report where the look-ups cost under a millisecond.
-- A bucket of -1: no duration. For the resource grouping, each resource other than that of a
-- customer counts the interaction; for the others the resources are not read (the CASE folds
-- away in the custom plan of the reporting pool).
WITH named AS (
    SELECT o.session_id::text AS session_id, o.attrs
      FROM outbox o
     WHERE (o.txid, o.id) > (@cursor_txid::xid8, @cursor_id::bigint)
    UNION ALL
    SELECT p.session_id::text, p.attrs
      FROM publication p
     WHERE p.pub_seq > @last_pub_seq::bigint
), pending AS (
    SELECT n.session_id, x.interaction_id
      FROM named n
     CROSS JOIN LATERAL unnest(ARRAY[n.attrs->>'interactionid', n.attrs->>'frominteractionid',
                                     n.attrs->>'tointeractionid']) AS x(interaction_id)
     WHERE x.interaction_id IS NOT NULL
    UNION
    SELECT i.session_id::text, i.interaction_id::text
      FROM sessions s
      JOIN interactions i ON i.session_id = s.session_id
     WHERE s.state = 'active' AND s.owner_node IS NULL AND i.state <> 'deleted'
), signed AS (
    SELECT @start_sign::int AS sign, c.media, c.node, c.resources, c.outcome, c.handle_us, c.connect_us, c.transfers,
           c.conferences, c.handle_bucket, c.connect_bucket
      FROM report_rollup_counted c
     WHERE c.created_at >= @start_from::timestamptz AND c.created_at < @start_to::timestamptz
    UNION ALL
    SELECT @end_sign::int, c.media, c.node, c.resources, c.outcome, c.handle_us, c.connect_us, c.transfers,
           c.conferences, c.handle_bucket, c.connect_bucket
      FROM report_rollup_counted c
     WHERE c.created_at >= @end_from::timestamptz AND c.created_at < @end_to::timestamptz
    UNION ALL
    SELECT 1, f.media, f.node, CASE WHEN @dim::text = 'resource' THEN f.resources END,
           f.outcome, f.handle_us, f.connect_us, f.transfers, f.conferences,
           ixn_duration_bucket(f.handle_us), ixn_duration_bucket(f.connect_us)
      FROM pending k
     CROSS JOIN LATERAL (SELECT x.* FROM report_interaction_facts x
                          WHERE x.session_id = k.session_id AND x.interaction_id = k.interaction_id
                            AND x.created_at >= @created_from::timestamptz AND x.created_at < @created_to::timestamptz
                         OFFSET 0) f
    UNION ALL
    SELECT -1, c.media, c.node, c.resources, c.outcome, c.handle_us, c.connect_us, c.transfers, c.conferences,
           c.handle_bucket, c.connect_bucket
      FROM pending k
     CROSS JOIN LATERAL (SELECT x.* FROM report_rollup_counted x
                          WHERE x.session_id = k.session_id AND x.interaction_id = k.interaction_id
                            AND x.created_at >= @created_from::timestamptz AND x.created_at < @created_to::timestamptz
                         OFFSET 0) c
), grouped AS (
    SELECT s.sign, s.outcome, s.handle_us, s.connect_us, s.transfers, s.conferences, s.handle_bucket, s.connect_bucket,
           (CASE @dim::text WHEN 'node' THEN s.node WHEN 'resource' THEN r.resource ELSE s.media END)::text AS key
      FROM signed s
      LEFT JOIN LATERAL unnest(s.resources) AS r(resource) ON @dim::text = 'resource'
     WHERE @dim::text <> 'resource' OR r.resource IS NOT NULL
)
SELECT key, sign::int AS sign, outcome::text AS outcome,
       coalesce(handle_bucket, -1)::int AS handle_bucket,
       coalesce(connect_bucket, -1)::int AS connect_bucket,
       count(*) AS n, coalesce(sum(handle_us), 0)::bigint AS handle_sum_us,
       count(connect_us) AS connected, coalesce(sum(connect_us), 0)::bigint AS connect_sum_us,
       sum(transfers)::bigint AS transfers, sum(conferences)::bigint AS conferences
  FROM grouped
 GROUP BY 1, 2, 3, 4, 5;

-- name: RollupVacuumAnalyze :exec
-- After a rebuild emptied and filled the rollup tables: their dead rows cleared, so that the
-- report's index scans do not wade through the old rows' entries until autovacuum comes (a
-- day's look-up into report_rollup_counted took 0.9 s right after a rebuild), and their
-- statistics, so that it plans its look-ups by their primary keys from the start. Run outside
-- a transaction.
VACUUM (ANALYZE) report_rollup_counted, report_rollups;
