-- ixn_request_check decides whether the action can be done now, against the stored state. It
-- returns NULL when it can, else the error value and a description.
CREATE OR REPLACE FUNCTION ixn_request_check(p_session_id text, p_action action_name, p_interaction_id text, p_params jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    i        interactions;
    p        parties;
    v_resource text := p_params->>'resource';
    target   sessions;
    cond     text;
    need     party_state[];
BEGIN
    SELECT * INTO i FROM interactions
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'deleted';
    IF NOT FOUND THEN
        RETURN ARRAY['invalidinteraction',
            format('interaction %s is not in session %s', p_interaction_id, p_session_id)];
    END IF;
    IF p_action = 'pick' THEN
        IF i.controlled THEN
            RETURN ARRAY['alreadycontrolled',
                format('interaction %s is already controlled by session %s', p_interaction_id, p_session_id)];
        END IF;
        RETURN NULL;
    END IF;
    -- Control by media (the seed page): a voice interaction may be acted on from
    -- interaction.added on, since the session holds the call as soon as it is added; any other
    -- media (chat, e-mail, ...) only once interaction.present gave the session control. Once
    -- control is released (notcontrolled after present), no media may be acted on.
    IF NOT i.controlled AND NOT (i.media = 'voice' AND i.state = 'added') THEN
        RETURN ARRAY['notcontrolled',
            format('interaction %s is in session %s but not controlled by it (%s)', p_interaction_id,
                   p_session_id, CASE WHEN i.state = 'added' THEN i.media || ' is not present yet'
                                      ELSE 'control was released' END)];
    END IF;
    IF p_action = 'associate' THEN
        SELECT * INTO target FROM sessions WHERE session_id = p_params->>'sessionid';
        IF NOT FOUND OR target.state <> 'active' OR target.session_id = p_session_id THEN
            RETURN ARRAY['invaliddestination', format('session %s %s', p_params->>'sessionid',
                CASE WHEN NOT FOUND THEN 'does not exist'
                     WHEN target.session_id = p_session_id THEN 'already holds the interaction'
                     ELSE 'has ended' END)];
        END IF;
        RETURN NULL;
    END IF;
    -- The party the action works on, and the states it must be in.
    need := CASE p_action
        WHEN 'redirect' THEN ARRAY['alerting']::party_state[]
        WHEN 'accept' THEN ARRAY['alerting']::party_state[]
        WHEN 'singlesteptransfer' THEN ARRAY['established', 'held']::party_state[]
        WHEN 'singlestepconference' THEN ARRAY['established']::party_state[]
        ELSE NULL END;
    IF v_resource IS NOT NULL THEN
        p := ixn_request_party(p_session_id, p_interaction_id, v_resource, need);
        IF p.party_id IS NULL THEN
            RETURN ARRAY['invalidresource',
                format('no party of interaction %s is at resource %s', p_interaction_id, v_resource)];
        END IF;
    END IF;
    IF need IS NULL THEN
        RETURN NULL; -- terminate, clear
    END IF;
    IF v_resource IS NULL THEN
        p := ixn_request_party(p_session_id, p_interaction_id, NULL, need);
    END IF;
    IF p.party_id IS NULL OR NOT p.state = ANY (need) THEN
        cond := CASE WHEN p.party_id IS NULL THEN ixn_interaction_condition(p_session_id, p_interaction_id)
                     WHEN p.state = 'alerting' THEN 'ringing'
                     WHEN p.state = 'held' THEN 'hold'
                     WHEN p.state = 'treatment' THEN 'treating'
                     WHEN p.state IN ('routing', 'queued', 'dialing') THEN 'null'
                     ELSE 'routed' END;
        RETURN ARRAY['invalidstate.' || cond,
            format('%s needs a party %s on interaction %s%s, which is %s', p_action, array_to_string(need, ' or '),
                   p_interaction_id, coalesce(' at ' || v_resource, ''), cond)];
    END IF;
    RETURN NULL;
END $$;
