-- name: CheckpointWrite :one
SELECT * FROM ixn_checkpoint_write(@session_id, sqlc.narg(epoch)::bigint, sqlc.narg(expected_version)::bigint,
    @datamodel::jsonb, @configuration::text[], @timers::jsonb, @keep::integer, @size::integer);

-- CheckpointCurrent reads the session's current checkpoint with the database's now() (the
-- transaction's start), from which a claim computes each timer's time left.
-- name: CheckpointCurrent :one
SELECT sqlc.embed(session_checkpoints), now()::timestamptz AS db_now
  FROM session_checkpoints
 WHERE session_id = @session_id;

-- CheckpointHistory: the current version and the kept ones before it, the latest first.
-- name: CheckpointHistory :many
SELECT c.* FROM session_checkpoints c WHERE c.session_id = @session_id
UNION ALL
SELECT h.* FROM session_checkpoint_history h WHERE h.session_id = @session_id
ORDER BY version DESC;

-- CheckpointVersion: the version of the session's current checkpoint, 0 when it has none.
-- name: CheckpointVersion :one
SELECT coalesce((SELECT version FROM session_checkpoints WHERE session_id = @session_id), 0)::bigint AS version;

-- CheckpointWriteBrief writes as CheckpointWrite and answers what the writer does not already
-- have: the version and when and under which epoch it was written, not the content it sent.
-- name: CheckpointWriteBrief :one
SELECT session_id, version, epoch, node_id, written_at, size_bytes
  FROM ixn_checkpoint_write(@session_id, sqlc.narg(epoch)::bigint, sqlc.narg(expected_version)::bigint,
    @datamodel::jsonb, @configuration::text[], @timers::jsonb, @keep::integer, @size::integer);
