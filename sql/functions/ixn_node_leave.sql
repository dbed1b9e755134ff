-- ixn_node_leave: a node shuts down in order. It is marked as left, and each of its sessions
-- is released to p_to_node (with the restore) or to nobody. Returns the sessions as they now
-- are.
CREATE OR REPLACE FUNCTION ixn_node_leave(p_node_id text, p_to_node text) RETURNS SETOF sessions
LANGUAGE plpgsql AS $$
DECLARE
    sid      text;
    released text[] := '{}';
BEGIN
    IF p_to_node = p_node_id THEN
        RAISE EXCEPTION 'a node cannot hand its sessions to itself' USING ERRCODE = 'IXIV0';
    END IF;
    UPDATE nodes SET live = false, lease_expires_at = now() WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
    END IF;
    -- Sessions in id order: the same lock order as every other multi-session change.
    FOR sid IN SELECT session_id FROM sessions WHERE owner_node = p_node_id AND state = 'active'
                ORDER BY session_id LOOP
        PERFORM ixn_session_release(sid, NULL, p_to_node);
        released := released || sid;
    END LOOP;
    RETURN QUERY SELECT * FROM sessions WHERE session_id = ANY (released) ORDER BY session_id;
END $$;
