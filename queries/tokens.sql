-- name: TokenInsert :one
INSERT INTO api_tokens (name, role, node_id, secret_hash, expires_at)
VALUES (@name, @role, sqlc.narg(node_id), @secret_hash, sqlc.narg(expires_at))
RETURNING *;

-- name: TokenGetByHash :one
SELECT * FROM api_tokens WHERE secret_hash = @secret_hash;

-- name: TokenList :many
SELECT * FROM api_tokens ORDER BY id;

-- name: TokenRevoke :many
-- A token is named by its id or its name (a name that is a number is found by either).
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
 WHERE id::text = @ref::text OR name = @ref::text
RETURNING *;

-- name: TokenCount :one
SELECT count(*) FROM api_tokens;

-- name: TokenSessionOwner :one
-- What an access check needs of a session: who owns it at which epoch.
SELECT owner_node, lease_epoch FROM sessions WHERE session_id = @session_id;

-- name: TokenNotify :exec
-- Tells every instance's token cache to forget the token (internal/auth's listener).
SELECT pg_notify('ixn_tokens', @payload::text);

-- name: TokenLockBootstrap :exec
-- Held to the end of the transaction that makes the bootstrap token.
SELECT pg_advisory_xact_lock(@key::bigint);
