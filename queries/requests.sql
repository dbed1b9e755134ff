-- Action requests (sql/functions/ixn_request_*.sql): made by a session's routing node,
-- carried out by the media side, ended by its report, a refusal, a timeout or the session's end.

-- name: RequestCreate :one
SELECT * FROM ixn_request_create(@session_id, sqlc.narg(epoch)::bigint, @request_id, @action, @interaction_id,
    @params::jsonb, @timeout_ms::bigint);

-- name: RequestDone :many
SELECT * FROM ixn_request_done(@session_id, @request_id, @hints::jsonb, sqlc.narg(party)::jsonb);

-- name: RequestFailed :many
SELECT * FROM ixn_request_fail_report(@session_id, @request_id, @error, @description);

-- name: RequestExpire :many
SELECT * FROM ixn_request_expire(@session_id, @request_id);

-- name: RequestGet :one
SELECT * FROM action_requests WHERE session_id = @session_id AND request_id = @request_id;

-- RequestListExpired finds pending requests whose deadline has passed, the longest overdue
-- first (by the partial index on deadline).
-- name: RequestListExpired :many
SELECT session_id, request_id FROM action_requests
 WHERE state = 'pending' AND deadline <= now()
 ORDER BY deadline
 LIMIT @max_rows;

-- RequestListPending is the media side's feed: pending requests after a cursor in (txid, id)
-- order, only those of transactions below the oldest one still running, so that a request
-- whose transaction commits late is read in its place and never passed over.
-- name: RequestListPending :many
SELECT * FROM action_requests
 WHERE state = 'pending'
   AND (txid, id) > (@after_txid::xid8, @after_id::bigint)
   AND txid < pg_snapshot_xmin(pg_current_snapshot())
   AND (sqlc.narg(media)::text IS NULL OR media = sqlc.narg(media)::text)
 ORDER BY txid, id
 LIMIT @max_rows;

-- RequestListBySession lists a session's action requests in the order they were made, of
-- one state when @state is given, after the request numbered @after_id (keyset paging).
-- name: RequestListBySession :many
SELECT * FROM action_requests
 WHERE session_id = @session_id
   AND id > @after_id
   AND (sqlc.narg(state)::request_state IS NULL OR state = sqlc.narg(state)::request_state)
 ORDER BY id
 LIMIT @max_rows;
