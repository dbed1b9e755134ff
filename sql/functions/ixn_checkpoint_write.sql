-- ixn_checkpoint_write stores a new version of the session's checkpoint (data model, active
-- configuration, timers), fenced like every write: the session's row is locked and a stale
-- epoch refused (IXLL0), an ended session refused (IXSE0). With p_expected_version, the write
-- is refused (IXCF0) unless that is the current version (0: none yet): optimistic concurrency
-- for a node that wants to know no one wrote in between.
--
-- It writes no outbox event: a checkpoint is the routing node's own memory of its SCXML
-- session, not an interaction event, and followers of the event stream have nothing to do
-- with it. So it reserves no sequence number: it locks the session's row as a SELECT ... FOR
-- NO KEY UPDATE (the lock an UPDATE takes), without a new version of the row.
--
-- The current version is rewritten in place (session_checkpoints holds one row a session).
-- With p_keep above 1, the version it replaces is first copied to session_checkpoint_history
-- and the history pruned to the p_keep - 1 latest; with 1, no history is written (versions
-- left there by an earlier, larger p_keep go with their session).
--
-- Each timer gets its due_at in the database's time: a timer given with delay_ms is due that
-- long after this transaction's now(), one given with due_at is kept as is.
CREATE OR REPLACE FUNCTION ixn_checkpoint_write(p_session_id text, p_epoch bigint, p_expected_version bigint,
    p_datamodel jsonb, p_configuration text[], p_timers jsonb, p_keep integer, p_size integer)
RETURNS session_checkpoints
LANGUAGE plpgsql AS $$
DECLARE
    live    session_state;
    held_by text;
    fence   bigint;
    current bigint;
    due     jsonb := '[]';
    c       session_checkpoints;
BEGIN
    -- The session's row locked as ixn_session_fence does, and the current version, in one
    -- statement: this function runs with every change a node checkpoints, so each statement
    -- counts.
    SELECT ss.state, ss.lease_epoch, ss.owner_node, coalesce(ck.version, 0) INTO live, fence, held_by, current
      FROM sessions ss LEFT JOIN session_checkpoints ck USING (session_id)
     WHERE ss.session_id = p_session_id
       FOR NO KEY UPDATE OF ss;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF live <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    IF p_epoch IS NOT NULL AND p_epoch <> fence THEN
        RAISE EXCEPTION 'the lease of session % was lost: epoch % is not the current epoch %',
            p_session_id, p_epoch, fence USING ERRCODE = 'IXLL0';
    END IF;
    IF p_expected_version IS NOT NULL AND p_expected_version <> current THEN
        RAISE EXCEPTION 'the checkpoint of session % is at version %, not the expected %', p_session_id, current,
            p_expected_version USING ERRCODE = 'IXCF0';
    END IF;
    -- The timers as sent (sendid, event, target, data, checked by the service), each delay_ms
    -- replaced by due_at.
    IF jsonb_array_length(p_timers) > 0 THEN
        due := (SELECT jsonb_agg((t - 'delay_ms' - 'due_at') || jsonb_build_object(
                           'due_at', coalesce((t->>'due_at')::timestamptz,
                                              now() + (t->>'delay_ms')::bigint * interval '1 millisecond'))
                           ORDER BY ord)
                  FROM jsonb_array_elements(p_timers) WITH ORDINALITY AS e(t, ord));
    END IF;
    IF current = 0 THEN
        INSERT INTO session_checkpoints (session_id, version, datamodel, configuration, timers, epoch, node_id, size_bytes)
        VALUES (p_session_id, 1, p_datamodel, coalesce(p_configuration, '{}'), due, fence, held_by, p_size)
        RETURNING * INTO c;
        RETURN c;
    END IF;
    IF p_keep > 1 THEN
        INSERT INTO session_checkpoint_history SELECT * FROM session_checkpoints WHERE session_id = p_session_id;
        DELETE FROM session_checkpoint_history WHERE session_id = p_session_id AND version <= current + 1 - p_keep;
    END IF;
    UPDATE session_checkpoints
       SET version = current + 1, datamodel = p_datamodel, configuration = coalesce(p_configuration, '{}'),
           timers = due, epoch = fence, node_id = held_by, written_at = now(), size_bytes = p_size
     WHERE session_id = p_session_id
    RETURNING * INTO c;
    RETURN c;
END $$;
