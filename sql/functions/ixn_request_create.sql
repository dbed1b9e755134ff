-- ixn_request_create makes a request. A request whose requestid the session already used is
-- answered by the stored one when it asks for the same thing, and refused (IXCF0) when not.
-- A request the stored state does not allow is refused at once: stored as failed, with its
-- error event. Otherwise it is stored as pending, for the media side; no event yet.
CREATE OR REPLACE FUNCTION ixn_request_create(
    p_session_id text, p_epoch bigint, p_request_id text, p_action action_name, p_interaction_id text,
    p_params jsonb, p_timeout_ms bigint
) RETURNS action_requests
LANGUAGE plpgsql AS $$
DECLARE
    s       sessions := ixn_session_lock(p_session_id, p_epoch, 0);
    r       action_requests;
    refusal text[];
BEGIN
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF FOUND THEN
        IF r.action <> p_action OR r.interaction_id <> p_interaction_id OR r.params <> p_params THEN
            RAISE EXCEPTION 'request % of session % was already made, for % of interaction %, with other parameters',
                p_request_id, p_session_id, r.action, r.interaction_id USING ERRCODE = 'IXCF0';
        END IF;
        RETURN r;
    END IF;
    refusal := ixn_request_check(p_session_id, p_action, p_interaction_id, p_params);
    INSERT INTO action_requests (session_id, request_id, action, interaction_id, media, params, refused,
                                 node_id, epoch, timeout_ms, deadline)
    VALUES (p_session_id, p_request_id, p_action, p_interaction_id,
            (SELECT media FROM interactions WHERE session_id = p_session_id AND interaction_id = p_interaction_id),
            p_params, refusal IS NOT NULL, s.owner_node, s.lease_epoch, p_timeout_ms,
            now() + p_timeout_ms * interval '1 millisecond')
    RETURNING * INTO r;
    IF refusal IS NOT NULL THEN
        PERFORM ixn_request_fail(s, r, refusal[1], refusal[2], NULL);
        SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    END IF;
    RETURN r;
END $$;
