-- +goose Up
-- The rollups of the aggregates report hold live interactions too (docs/reporting.md,
-- "Rollups"): a live one counts as the report counts it (outcome live, or abandoned; no
-- handle time), so a report reads rollup rows for whole hours and only the interactions the
-- worker has not applied yet from the rows, instead of every live one.
--
-- report_rollup_counted.handle_us is NULL for a live interaction; report_rollups.live counts
-- the live ones of a group's hour.
ALTER TABLE report_rollup_counted ALTER COLUMN handle_us DROP NOT NULL;
ALTER TABLE report_rollups ADD COLUMN live bigint NOT NULL DEFAULT 0;

-- The creation time of each interaction counted, so that the parts of hours a report's window
-- cuts are read from what the rollups hold (narrow rows, by this index) rather than from the
-- interactions' rows and their resources. NULL in rows counted before (reports do not read
-- them until a rebuild, below).
ALTER TABLE report_rollup_counted ADD COLUMN created_at timestamptz;
CREATE INDEX report_rollup_counted_created_idx ON report_rollup_counted (created_at);
-- The histogram buckets of its durations (NULL: no duration), worked out once when counted:
-- a report that reads these rows does not compute a logarithm for each.
ALTER TABLE report_rollup_counted ADD COLUMN handle_bucket int, ADD COLUMN connect_bucket int;

-- Whether the rollups are of this kind. Rollups built before it hold only ended
-- interactions: reports answer from the rows until `ixnstore rollups rebuild` (which sets it),
-- while the worker already keeps them the new way. A worker that starts with no row makes one
-- that is (it applies every event from the first).
ALTER TABLE report_rollup_state ADD COLUMN counts_live boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE report_rollup_state DROP COLUMN counts_live;
ALTER TABLE report_rollups DROP COLUMN live;
ALTER TABLE report_rollup_counted DROP COLUMN handle_bucket, DROP COLUMN connect_bucket;
DROP INDEX report_rollup_counted_created_idx;
ALTER TABLE report_rollup_counted DROP COLUMN created_at;
DELETE FROM report_rollup_counted WHERE handle_us IS NULL;
ALTER TABLE report_rollup_counted ALTER COLUMN handle_us SET NOT NULL;
