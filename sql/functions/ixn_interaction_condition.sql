-- ixn_interaction_condition names the state of an interaction as the reference's
-- invalidstate.<state> values do: null (no party on it), ringing (a party alerting, none
-- established), hold (a party held, none established), routed (a party established),
-- treating (a party in treatment, none of those); parties only routing, queued or dialing are
-- not yet at anyone: null.
CREATE OR REPLACE FUNCTION ixn_interaction_condition(p_session_id text, p_interaction_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN bool_or(state = 'established') THEN 'routed'
        WHEN bool_or(state = 'alerting') THEN 'ringing'
        WHEN bool_or(state = 'held') THEN 'hold'
        WHEN bool_or(state = 'treatment') THEN 'treating'
        ELSE 'null' END
      FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
$$;
