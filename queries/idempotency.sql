-- The answers of writes sent with an Idempotency-Key (sql/functions/ixn_idempotency_begin.sql).

-- name: IdempotencyBegin :many
SELECT * FROM ixn_idempotency_begin(@session_id, @key, @request_hash, @ttl_ms);

-- IdempotencyFinish stores the answer of the write that recorded the key, in its transaction.
-- name: IdempotencyFinish :exec
UPDATE idempotency_keys SET status = @status, body = @body
 WHERE session_id = @session_id AND key = @key;

-- IdempotencyDeleteExpired removes up to @max_rows keys past their time.
-- name: IdempotencyDeleteExpired :execrows
DELETE FROM idempotency_keys
 WHERE (session_id, key) IN (SELECT k.session_id, k.key FROM idempotency_keys k
                              WHERE k.expires_at < now() LIMIT @max_rows);
