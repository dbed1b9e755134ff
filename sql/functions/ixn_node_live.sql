-- ixn_node_live returns a node that may take sessions, or raises.
CREATE OR REPLACE FUNCTION ixn_node_live(p_node_id text) RETURNS nodes
LANGUAGE plpgsql AS $$
DECLARE
    n nodes;
BEGIN
    SELECT * INTO n FROM nodes WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF NOT ixn_node_alive(n) THEN
        RAISE EXCEPTION 'node % is not live: %', p_node_id,
            CASE WHEN n.live THEN 'its lease lapsed at ' || n.lease_expires_at ELSE 'it has left' END
            USING ERRCODE = 'IXNL0';
    END IF;
    RETURN n;
END $$;
