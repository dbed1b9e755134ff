-- Ending a session first ends its pending requests (error unknown): every request ends in an
-- answer, and none can be written once the session has ended.
CREATE OR REPLACE FUNCTION ixn_session_end(p_session_id text, p_epoch bigint) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s   sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    evs ixn_event[] := '{}';
    i   record;
    r   action_requests;
    ids text[] := '{}';
BEGIN
    FOR r IN SELECT * FROM action_requests WHERE session_id = p_session_id AND state = 'pending' ORDER BY id LOOP
        evs := evs || ixn_request_error_event(r.action, r.request_id, 'unknown',
                                              'the session ended before the request was answered');
        UPDATE action_requests
           SET state = 'failed', error = 'unknown', description = 'the session ended before the request was answered',
               answered_at = now(), answer_first_seq = s.last_seq + cardinality(evs), answer_last_seq = s.last_seq + cardinality(evs)
         WHERE session_id = r.session_id AND request_id = r.request_id;
    END LOOP;
    -- The session lets go of what it still holds: the interactions go on without it.
    FOR i IN SELECT interaction_id, controlled FROM interactions
              WHERE session_id = p_session_id AND state <> 'deleted'
              ORDER BY created_at, interaction_id LOOP
        IF i.controlled THEN
            evs := evs || ixn_ev('interaction.notcontrolled',
                                 jsonb_build_object('interactionid', i.interaction_id, 'resultof', 'detach'));
        END IF;
        evs := evs || ixn_ev('interaction.deleted', jsonb_build_object('interactionid', i.interaction_id));
        ids := ids || i.interaction_id::text;
    END LOOP;
    UPDATE interactions SET state = 'deleted', controlled = false, deleted_at = now(), updated_at = now()
     WHERE session_id = p_session_id AND state <> 'deleted';
    -- By interaction id: on a sharded database each id is found on its own shard, not looked
    -- for on all of them.
    DELETE FROM live_interactions WHERE interaction_id = ANY (ids) AND session_id = p_session_id;
    UPDATE sessions SET state = 'ended', ended_at = now() WHERE session_id = p_session_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, evs);
END $$;
