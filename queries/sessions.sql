-- name: SessionCreate :one
INSERT INTO sessions (session_id, tenant_id, owner_node)
VALUES (@session_id, sqlc.narg(tenant_id), sqlc.narg(owner_node))
RETURNING *;

-- name: SessionGet :one
SELECT * FROM sessions WHERE session_id = @session_id;

-- name: SessionEnd :many
SELECT * FROM ixn_session_end(@session_id, sqlc.narg(epoch)::bigint);
