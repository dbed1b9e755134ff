-- name: CheckpointWrite :one
SELECT * FROM ixn_checkpoint_write(@session_id, sqlc.narg(epoch)::bigint, sqlc.narg(expected_version)::bigint,
    @datamodel::jsonb, @configuration::text[], @timers::jsonb, @keep::integer, @size::integer);

-- CheckpointCurrent reads the session's latest checkpoint with the database's now() (the
-- transaction's start), from which a claim computes each timer's time left.
-- name: CheckpointCurrent :one
SELECT sqlc.embed(session_checkpoints), now()::timestamptz AS db_now
  FROM session_checkpoints
 WHERE session_id = @session_id
 ORDER BY version DESC
 LIMIT 1;

-- name: CheckpointHistory :many
SELECT * FROM session_checkpoints WHERE session_id = @session_id ORDER BY version DESC;

-- CheckpointVersion: the version of the session's current checkpoint, 0 when it has none.
-- name: CheckpointVersion :one
SELECT coalesce(max(version), 0)::bigint AS version FROM session_checkpoints WHERE session_id = @session_id;
