-- ixn_session_claim: a live node takes a session whose owner is gone (no owner, or the
-- owner's lease has lapsed or it left). Of several nodes claiming at once, the first to lock
-- the row wins; the others find the session held by a live node (IXLH0). A node may claim a
-- session it owns again (after its own restart): it gets a new epoch and the restore.
CREATE OR REPLACE FUNCTION ixn_session_claim(p_session_id text, p_node_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s     sessions := ixn_session_row(p_session_id);
    owner nodes;
BEGIN
    IF s.state <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    PERFORM ixn_node_live(p_node_id);
    IF s.owner_node IS DISTINCT FROM p_node_id THEN
        SELECT * INTO owner FROM nodes WHERE node_id = s.owner_node;
        IF FOUND AND ixn_node_alive(owner) THEN
            RAISE EXCEPTION 'session % is held by live node % (lease until %)', p_session_id, owner.node_id,
                owner.lease_expires_at USING ERRCODE = 'IXLH0';
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_node_id);
END $$;
