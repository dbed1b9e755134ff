-- name: DispatcherStateGet :one
SELECT * FROM dispatcher_state;

-- name: OutboxListSettled :many
-- The next outbox rows in (txid, id) order whose transactions have all ended.
SELECT id, session_id, seq, node_id, txid, created_at FROM outbox
 WHERE (txid, id) > (@cursor_txid::xid8, @cursor_id::bigint)
   AND txid < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY txid, id
 LIMIT @max_rows;

-- name: OutboxListSessionRange :many
-- A session's events numbered after after_seq and before before_seq, in order.
SELECT id, session_id, seq, node_id, txid, created_at FROM outbox
 WHERE session_id = @session_id AND seq > @after_seq AND seq < @before_seq
 ORDER BY seq;

-- name: PublicationLastSeqs :many
-- The last published seq of each of these sessions (0 when none).
SELECT s.session_id::text AS session_id,
       coalesce((SELECT max(p.seq) FROM publication p WHERE p.session_id = s.session_id), 0)::bigint AS last_seq
  FROM unnest(@session_ids::text[]) AS s(session_id);

-- name: PublicationMove :one
-- A batch of the dispatcher (ixn_publication_move): 0 when another dispatcher moved the
-- position since, and nothing is written. The events come as arrays, one element each.
SELECT ixn_publication_move(@previous_pub_seq, @last_pub_seq, @cursor_txid, @cursor_id, @leader,
                            @pub_seqs::bigint[], @txids::bigint[], @outbox_ids::bigint[])::int AS moved;

-- name: PublicationDays :one
-- Makes the day partitions of publication from the day of from_at to that of to_at.
SELECT ixn_publication_days(@from_at, @to_at)::int AS made;

-- name: PublicationDrop :many
-- Removes up to max_days day partitions of publication that end at or before before.
SELECT day::date AS day, events_about::bigint AS events_about FROM ixn_publication_drop(@before, @max_days);

-- name: PublicationDaysKept :many
-- The day partitions of publication, oldest first, with about how many events each holds.
SELECT day::date AS day, events_about::bigint AS events_about, bytes::bigint AS bytes FROM ixn_publication_days_kept();

-- name: PublishedLastSeq :one
-- The newest publication number (0 when nothing is published): where a stream hub starts.
SELECT coalesce(max(pub_seq), 0)::bigint AS last_pub_seq FROM publication;

-- name: PublishedListAfter :many
SELECT pub_seq, id, session_id, seq, name, attrs, node_id, epoch, created_at
  FROM publication
 WHERE pub_seq > @after_pub_seq
 ORDER BY pub_seq
 LIMIT @max_rows;

-- name: PublishedListAfterBySession :many
-- A session's events are a few dozen: found by the session index and sorted.
SELECT pub_seq, id, session_id, seq, name, attrs, node_id, epoch, created_at
  FROM publication
 WHERE session_id = @session_id AND pub_seq > @after_pub_seq
 ORDER BY seq
 LIMIT @max_rows;

-- name: PublishedListAfterByNode :many
-- No index by node: read in publication order and filtered, which costs little at the head of
-- publication, where streams are (a node's stream catching up from far behind reads the
-- other nodes' events on the way).
SELECT pub_seq, id, session_id, seq, name, attrs, node_id, epoch, created_at
  FROM publication
 WHERE node_id = @node_id AND pub_seq > @after_pub_seq
 ORDER BY pub_seq
 LIMIT @max_rows;

-- name: OutboxNotify :exec
SELECT pg_notify('ixn_outbox', '');

-- name: DispatcherTryLock :one
-- The one dispatcher of a database holds this session-level advisory lock on its connection.
SELECT pg_try_advisory_lock(hashtext('ixnstore dispatcher'));

-- name: ListenOutbox :exec
LISTEN ixn_outbox;

-- name: ListenPublished :exec
LISTEN ixn_published;

-- name: OriginsDeleteExpired :execrows
-- Removes up to max_rows interaction origins written before the cutoff: the events they are
-- the start of are being removed with the same cutoff.
DELETE FROM interaction_origins
 WHERE (session_id, interaction_id, seq) IN (
       SELECT o.session_id, o.interaction_id, o.seq FROM interaction_origins o
        WHERE o.created_at < @before LIMIT @max_rows);

-- name: DispatcherResign :exec
-- The leader gives the lock up at once as it stops, and says so: a standby listening takes
-- over now rather than at its next try.
SELECT pg_advisory_unlock(hashtext('ixnstore dispatcher')), pg_notify('ixn_dispatcher', 'resigned');

-- name: ListenDispatcher :exec
LISTEN ixn_dispatcher;
