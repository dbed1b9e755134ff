-- ixn_session_take gives a locked session to p_node_id under a new epoch and writes
-- interaction.restored for each of its live interactions, in the order they were added, so
-- that the new owner continues them. The events carry the new owner and epoch.
CREATE OR REPLACE FUNCTION ixn_session_take(p_session_id text, p_node_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    UPDATE sessions SET owner_node = p_node_id, lease_epoch = lease_epoch + 1, updated_at = now()
     WHERE session_id = p_session_id
    RETURNING * INTO s;
    UPDATE interactions SET owner_node = p_node_id WHERE session_id = p_session_id AND state <> 'deleted';
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY(
        SELECT ixn_ev('interaction.restored', jsonb_build_object('interactionid', interaction_id))
          FROM interactions
         WHERE session_id = p_session_id AND state <> 'deleted'
         ORDER BY created_at, interaction_id));
END $$;
