-- The state of an interaction rebuilt from its events (reporting/rebuild.go), and the audit
-- that compares the rebuild with the stored state. Events are read by session (the
-- events view: publication's session index and the outbox's key), a session's seq range at a
-- time, never by a scan of all events.

-- name: RebuildStart :one
-- Where a rebuild of one interaction starts: the session's last seq (the highest event left
-- when the session itself was purged: events outlive sessions), whether the interaction is
-- stored or has any origin (to tell "never there" from "cannot be rebuilt"), and the origin
-- of its stay at seq up_to (its latest interaction.added at or before it).
SELECT coalesce((SELECT s.last_seq FROM sessions s WHERE s.session_id = @session_id::text),
                (SELECT max(e.seq) FROM events e WHERE e.session_id = @session_id::text),
                0)::bigint AS last_seq,
       EXISTS (SELECT 1 FROM interactions i
                WHERE i.session_id = @session_id::text AND i.interaction_id = @interaction_id::text) AS stored,
       EXISTS (SELECT 1 FROM interaction_origins g
                WHERE g.session_id = @session_id::text AND g.interaction_id = @interaction_id::text) AS has_origins,
       coalesce(o.seq, 0)::bigint AS origin_seq,
       o.parties AS origin_parties
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN LATERAL (
        SELECT g.seq, g.parties FROM interaction_origins g
         WHERE g.session_id = @session_id::text AND g.interaction_id = @interaction_id::text
           AND g.seq <= @up_to::bigint
         ORDER BY g.seq DESC
         LIMIT 1) o ON true;

-- name: RebuildSessionEvents :many
-- Every event of each given session in its [from_seq, to_seq], in seq order, with the
-- attributes a rebuild reads (absent ones as ''), and for an answer to an action request
-- the interaction of the request (the error answers and interaction.accept.done carry only
-- the requestid). All of the range is returned, not only the events of the interactions
-- rebuilt, so that the caller can tell a range that retention has holed.
SELECT o.session_id, o.seq, o.name,
       coalesce(o.attrs->>'interactionid', '')::text     AS interaction_id,
       coalesce(o.attrs->>'frominteractionid', '')::text AS from_interaction_id,
       coalesce(o.attrs->>'tointeractionid', '')::text   AS to_interaction_id,
       coalesce(o.attrs->>'partyid', '')::text           AS party_id,
       coalesce(o.attrs->>'focusresource', '')::text     AS focus_resource,
       coalesce(o.attrs->>'partystate', '')::text        AS party_state,
       coalesce(a.interaction_id, '')::text              AS request_interaction_id
  FROM (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@from_seqs::bigint[]) AS from_seq,
               unnest(@to_seqs::bigint[]) AS to_seq) AS r
  JOIN events o ON o.session_id = r.session_id AND o.seq BETWEEN r.from_seq AND r.to_seq
  LEFT JOIN action_requests a ON a.session_id = o.session_id AND a.request_id = o.attrs->>'requestid'
 ORDER BY o.session_id, o.seq;

-- name: AuditScope :many
-- The interactions an audit checks: of one session and/or created in [created_from,
-- created_to), oldest first. The reporting pool plans each call for its own parameters, so
-- the filters not given fold away.
SELECT i.session_id, i.interaction_id
  FROM interactions i
 WHERE (sqlc.narg(session_id)::text IS NULL OR i.session_id = sqlc.narg(session_id)::text)
   AND (sqlc.narg(created_from)::timestamptz IS NULL OR i.created_at >= sqlc.narg(created_from)::timestamptz)
   AND (sqlc.narg(created_to)::timestamptz IS NULL OR i.created_at < sqlc.narg(created_to)::timestamptz)
 ORDER BY i.created_at, i.session_id, i.interaction_id
 LIMIT @max_rows;

-- name: AuditStoredInteractions :many
-- The stored state of the given interactions (session_ids[k], interaction_ids[k]), each with
-- its session's last seq and the origin of its current stay (its latest interaction.added),
-- origin_seq 0 when there is none.
SELECT i.session_id, i.interaction_id, i.state, i.controlled,
       (i.abandoned_at IS NOT NULL)::boolean AS abandoned, i.merged_into,
       s.last_seq,
       coalesce(o.seq, 0)::bigint AS origin_seq,
       o.parties AS origin_parties
  FROM (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@interaction_ids::text[]) AS interaction_id) AS k
  JOIN interactions i ON i.session_id = k.session_id AND i.interaction_id = k.interaction_id
  JOIN sessions s ON s.session_id = i.session_id
  LEFT JOIN LATERAL (
        SELECT g.seq, g.parties FROM interaction_origins g
         WHERE g.session_id = i.session_id AND g.interaction_id = i.interaction_id
         ORDER BY g.seq DESC
         LIMIT 1) o ON true
 ORDER BY i.session_id, i.interaction_id;

-- name: AuditStoredParties :many
-- The stored parties of the given interactions (session_ids[k], interaction_ids[k]).
SELECT p.session_id, p.interaction_id, p.party_id, p.resource, p.state
  FROM (SELECT unnest(@session_ids::text[]) AS session_id, unnest(@interaction_ids::text[]) AS interaction_id) AS k
  JOIN parties p ON p.session_id = k.session_id AND p.interaction_id = k.interaction_id
 ORDER BY p.session_id, p.interaction_id, p.party_id;
