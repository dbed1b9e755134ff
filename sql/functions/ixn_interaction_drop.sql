-- ixn_interaction_drop marks an interaction deleted from its session and returns the events
-- that says so (it is live nowhere now): interaction.notcontrolled (resultof deletion) first when the session
-- controlled it, then interaction.deleted.
CREATE OR REPLACE FUNCTION ixn_interaction_drop(i interactions) RETURNS ixn_event[]
LANGUAGE plpgsql AS $$
DECLARE
    evs ixn_event[] := '{}';
BEGIN
    IF i.controlled THEN
        evs := evs || ixn_ev('interaction.notcontrolled',
                             jsonb_build_object('interactionid', i.interaction_id, 'resultof', 'deletion'));
    END IF;
    UPDATE interactions SET state = 'deleted', controlled = false, deleted_at = now(), updated_at = now()
     WHERE session_id = i.session_id AND interaction_id = i.interaction_id;
    DELETE FROM live_interactions WHERE interaction_id = i.interaction_id AND session_id = i.session_id;
    RETURN evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', i.interaction_id));
END $$;
