-- The archive of ended sessions (archive/, sql/functions/ixn_archive_*.sql).

-- One archiver at a time across the instances of a database: it holds this session-level
-- advisory lock on one connection while it writes, removes or restores.
-- name: ArchiveLock :one
SELECT pg_try_advisory_lock(hashtext('ixnstore archive'));

-- name: ArchiveUnlock :one
SELECT pg_advisory_unlock(hashtext('ixnstore archive'));

-- ArchiveNextEnded is when the first session that ended within [@ended_from, @ended_before)
-- ended (no row: none), through sessions_ended_at_idx: where the next day to archive starts.
-- name: ArchiveNextEnded :many
SELECT ended_at FROM sessions
 WHERE state = 'ended' AND ended_at >= @ended_from::timestamptz AND ended_at < @ended_before::timestamptz
 ORDER BY ended_at
 LIMIT 1;

-- ArchiveSessionIDs lists the sessions that ended within [@ended_from, @ended_before) and hold
-- nothing live: no interaction that is not deleted, none live in live_interactions, no pending
-- request. Only these are written to the archive. A page at a time, in the order of the index
-- (ended_at, then id), after (@after_ended_at, @after_id), so that no statement reads more than
-- a page of a large day.
-- name: ArchiveSessionIDs :many
SELECT s.session_id::text AS session_id, s.ended_at::timestamptz AS ended_at FROM sessions s
 WHERE s.state = 'ended' AND s.ended_at >= @ended_from::timestamptz AND s.ended_at < @ended_before::timestamptz
   AND (s.ended_at, s.session_id) > (@after_ended_at::timestamptz, @after_id::text)
   AND NOT EXISTS (SELECT FROM interactions i WHERE i.session_id = s.session_id AND i.state <> 'deleted')
   AND NOT EXISTS (SELECT FROM live_interactions l
                    WHERE l.interaction_id IN (SELECT i.interaction_id FROM interactions i
                                                WHERE i.session_id = s.session_id)
                      AND l.session_id = s.session_id)
   AND NOT EXISTS (SELECT FROM action_requests r WHERE r.session_id = s.session_id AND r.state = 'pending')
 ORDER BY s.ended_at, s.session_id
 LIMIT @max_rows;

-- name: ArchiveRows :many
SELECT tab::int AS tab, session_id::text AS session_id, line::text AS line
  FROM ixn_archive_rows(@session_ids::text[]);

-- name: ArchiveRemove :many
SELECT session_id::text AS session_id, interactions::bigint AS interactions
  FROM ixn_archive_remove(@session_ids::text[], @digests::bytea[], @ended_from, @ended_before);

-- name: ArchiveRestore :many
SELECT session_id::text AS session_id FROM ixn_archive_restore(@session_rows::json);

-- ArchiveSessionsPresent: which of these sessions are in the database.
-- name: ArchiveSessionsPresent :many
SELECT session_id::text FROM sessions WHERE session_id = ANY (@session_ids::text[]);

-- ArchiveColumns are the columns of the archived tables, in their order, with their types:
-- what an archive's manifest records, and what a restore checks it against.
-- name: ArchiveColumns :many
SELECT c.relname::text AS table_name, a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod)::text AS column_type
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY (@tables::text[])
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;
