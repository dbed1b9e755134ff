-- name: OutboxListBySession :many
SELECT * FROM outbox
 WHERE session_id = @session_id AND seq > @after_seq
 ORDER BY seq
 LIMIT @max_rows;
