-- name: OutboxListBySession :many
-- A session's events, published or not.
SELECT * FROM events
 WHERE session_id = @session_id AND seq > @after_seq
 ORDER BY seq
 LIMIT @max_rows;

-- name: OutboxInversions :one
-- How many events follow, in their session's order, an event of a later transaction: the
-- events the dispatcher brings forward (a test's check that its scenario has some).
SELECT count(*) FROM (
    SELECT txid < lag(txid) OVER (PARTITION BY session_id ORDER BY seq) AS inverted FROM events
) o WHERE inverted;

-- name: OutboxVacuum :exec
-- Rows pass through the outbox: each published event leaves a dead row and two dead index
-- entries behind it until a vacuum, which makes their space free for the next events. No
-- truncation: the table is refilled at once, and truncating takes a lock that stops its
-- writers. Run outside a transaction; one that finds the table being vacuumed (by another
-- instance, or autovacuum) skips it.
VACUUM (SKIP_LOCKED, TRUNCATE false) outbox;
