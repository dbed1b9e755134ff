-- name: NatsBridgeTryLock :one
-- The one bridge of a stream holds this session-level advisory lock on its connection (a key
-- pair, apart from the dispatcher's single key).
SELECT pg_try_advisory_lock(hashtext('ixnstore nats bridge'), hashtext(@stream::text));

-- name: NatsBridgeStateEnsure :exec
INSERT INTO nats_bridge_state (stream) VALUES (@stream) ON CONFLICT (stream) DO NOTHING;

-- name: NatsBridgeStateGet :one
SELECT * FROM nats_bridge_state WHERE stream = @stream;

-- name: NatsBridgeStateAdvance :execrows
-- Moves the bridge's position; refused (no row) when another bridge moved it since.
UPDATE nats_bridge_state
   SET last_pub_seq = @last_pub_seq, leader = @leader, updated_at = now()
 WHERE stream = @stream AND last_pub_seq = @previous_pub_seq;
