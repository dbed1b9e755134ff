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

-- name: PublicationWrite :one
-- A batch of the dispatcher in one statement, and so in one transaction: its position moves
-- from previous_pub_seq to last_pub_seq, the events get their numbers, and the stream hubs are
-- woken. Nothing is written when another dispatcher moved the position since (moved is 0).
-- The events come as arrays, one element each; an empty node id is none.
WITH advanced AS (
    UPDATE dispatcher_state
       SET cursor_txid = @cursor_txid, cursor_id = @cursor_id, last_pub_seq = @last_pub_seq,
           leader = @leader, updated_at = now()
     WHERE last_pub_seq = @previous_pub_seq
    RETURNING last_pub_seq
), published AS (
    INSERT INTO publication (pub_seq, txid, outbox_id, session_id, seq, node_id)
    SELECT e.pub_seq, e.txid::text::xid8, e.outbox_id, e.session_id, e.seq, nullif(e.node_id, '')
      FROM (SELECT unnest(@pub_seqs::bigint[]) AS pub_seq, unnest(@txids::bigint[]) AS txid,
                   unnest(@outbox_ids::bigint[]) AS outbox_id, unnest(@session_ids::text[]) AS session_id,
                   unnest(@seqs::bigint[]) AS seq, unnest(@node_ids::text[]) AS node_id) AS e
     WHERE EXISTS (SELECT FROM advanced)
    RETURNING pub_seq
)
SELECT (SELECT count(*) FROM advanced)::int AS moved,
       (SELECT count(*) FROM published)::int AS published,
       (SELECT count(pg_notify('ixn_published', a.last_pub_seq::text)) FROM advanced a
         WHERE cardinality(@pub_seqs::bigint[]) > 0)::int AS notified;

-- name: PublishedLastSeq :one
-- The newest publication number (0 when nothing is published): where a stream hub starts.
SELECT coalesce(max(pub_seq), 0)::bigint AS last_pub_seq FROM publication;

-- name: PublishedListAfter :many
SELECT p.pub_seq, o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.created_at
  FROM publication p
  JOIN outbox o ON o.txid = p.txid AND o.id = p.outbox_id
 WHERE p.pub_seq > @after_pub_seq
 ORDER BY p.pub_seq
 LIMIT @max_rows;

-- name: PublishedListAfterBySession :many
SELECT p.pub_seq, o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.created_at
  FROM publication p
  JOIN outbox o ON o.txid = p.txid AND o.id = p.outbox_id
 WHERE p.session_id = @session_id AND p.pub_seq > @after_pub_seq
 ORDER BY p.seq
 LIMIT @max_rows;

-- name: PublishedListAfterByNode :many
SELECT p.pub_seq, o.id, o.session_id, o.seq, o.name, o.attrs, o.node_id, o.epoch, o.created_at
  FROM publication p
  JOIN outbox o ON o.txid = p.txid AND o.id = p.outbox_id
 WHERE p.node_id = @node_id AND p.pub_seq > @after_pub_seq
 ORDER BY p.pub_seq
 LIMIT @max_rows;

-- name: OutboxDeleteExpired :execrows
-- Removes up to max_rows published events written before the cutoff, with their publication
-- rows: a short statement, run again until it removes nothing.
WITH expired AS (
    SELECT o.session_id, o.seq
      FROM outbox o
      JOIN publication p ON p.session_id = o.session_id AND p.seq = o.seq
     WHERE o.created_at < @before
     LIMIT @max_rows
), unpublished AS (
    DELETE FROM publication p USING expired e WHERE p.session_id = e.session_id AND p.seq = e.seq
)
DELETE FROM outbox o USING expired e WHERE o.session_id = e.session_id AND o.seq = e.seq;

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
