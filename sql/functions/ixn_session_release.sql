-- ixn_session_release: the owner lets the session go, under the epoch it holds: to nobody
-- (it is orphaned at once, for any node to claim) or to a named live node, which gets the
-- restore. Either way the epoch is raised, so the old owner's later writes are refused.
CREATE OR REPLACE FUNCTION ixn_session_release(p_session_id text, p_epoch bigint, p_to_node text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions := ixn_session_lock(p_session_id, p_epoch, 0);
BEGIN
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
        RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_to_node);
        RETURN;
    END IF;
    UPDATE sessions SET owner_node = NULL, lease_epoch = lease_epoch + 1 WHERE session_id = p_session_id;
    UPDATE interactions SET owner_node = NULL WHERE session_id = p_session_id AND state <> 'deleted';
END $$;
