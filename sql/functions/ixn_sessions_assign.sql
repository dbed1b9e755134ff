-- ixn_sessions_assign gives orphaned sessions to live nodes in one statement: p_session_ids[i]
-- to p_node_ids[i]. It is the orphan assigner's claim in bulk: each session gets what a claim
-- gives it (a new epoch, its interactions' new owner, interaction.restored for each), under
-- the same rules, but a session that may not be given is passed over rather than failing the
-- rest: one that has ended, whose owner came back to life, whose row another transaction
-- holds (it is left to the next pass instead of waited for), or whose node is not live.
-- Sessions are locked in id order, so two assigners cannot deadlock. Returns the sessions
-- given and their new owners.
CREATE OR REPLACE FUNCTION ixn_sessions_assign(p_session_ids text[], p_node_ids text[])
RETURNS TABLE (session_id text, node_id text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF cardinality(p_session_ids) IS DISTINCT FROM cardinality(p_node_ids) THEN
        RAISE EXCEPTION 'ixn_sessions_assign: % sessions but % nodes', cardinality(p_session_ids),
            cardinality(p_node_ids) USING ERRCODE = 'IXIV0';
    END IF;
    FOR r IN
        SELECT s.session_id AS sid, a.node_id AS nid
          FROM unnest(p_session_ids, p_node_ids) AS a(session_id, node_id)
          JOIN sessions s ON s.session_id = a.session_id
          JOIN nodes t ON t.node_id = a.node_id
         WHERE s.state = 'active'
           AND ixn_node_alive(t)
           AND NOT EXISTS (SELECT 1 FROM nodes o WHERE o.node_id = s.owner_node AND ixn_node_alive(o))
         ORDER BY s.session_id
           FOR UPDATE OF s SKIP LOCKED
    LOOP
        PERFORM ixn_session_take(r.sid, r.nid);
        session_id := r.sid;
        node_id := r.nid;
        RETURN NEXT;
    END LOOP;
END $$;
