-- ixn_checkpoint_write stores a new version of the session's checkpoint (data model, active
-- configuration, timers), fenced like every write: the session's row is locked and a stale
-- epoch refused (IXLL0), an ended session refused (IXSE0). With p_expected_version, the write
-- is refused (IXCF0) unless that is the current version (0: none yet): optimistic concurrency
-- for a node that wants to know no one wrote in between.
--
-- It writes no outbox event: a checkpoint is the routing node's own memory of its SCXML
-- session, not an interaction event, and followers of the event stream have nothing to do
-- with it. So it reserves no sequence number (ixn_session_lock with 0).
--
-- Each timer gets its due_at in the database's time: a timer given with delay_ms is due that
-- long after this transaction's now(), one given with due_at is kept as is. The versions
-- older than the p_keep latest are removed in the same transaction.
CREATE OR REPLACE FUNCTION ixn_checkpoint_write(p_session_id text, p_epoch bigint, p_expected_version bigint,
    p_datamodel jsonb, p_configuration text[], p_timers jsonb, p_keep integer, p_size integer)
RETURNS session_checkpoints
LANGUAGE plpgsql AS $$
DECLARE
    s       sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    current bigint;
    c       session_checkpoints;
BEGIN
    SELECT coalesce(max(version), 0) INTO current FROM session_checkpoints WHERE session_id = p_session_id;
    IF p_expected_version IS NOT NULL AND p_expected_version <> current THEN
        RAISE EXCEPTION 'the checkpoint of session % is at version %, not the expected %', p_session_id, current,
            p_expected_version USING ERRCODE = 'IXCF0';
    END IF;
    INSERT INTO session_checkpoints (session_id, version, datamodel, configuration, timers, epoch, node_id, size_bytes)
    VALUES (p_session_id, current + 1, p_datamodel, coalesce(p_configuration, '{}'),
            -- The timer as sent (sendid, event, target, data, checked by the service), its
            -- delay_ms replaced by due_at.
            coalesce((SELECT jsonb_agg((t - 'delay_ms' - 'due_at') || jsonb_build_object(
                          'due_at', coalesce((t->>'due_at')::timestamptz,
                                             now() + (t->>'delay_ms')::bigint * interval '1 millisecond'))
                          ORDER BY ord)
                        FROM jsonb_array_elements(coalesce(p_timers, '[]')) WITH ORDINALITY AS e(t, ord)), '[]'),
            s.lease_epoch, s.owner_node, p_size)
    RETURNING * INTO c;
    DELETE FROM session_checkpoints WHERE session_id = p_session_id AND version <= c.version - greatest(p_keep, 1);
    RETURN c;
END $$;
