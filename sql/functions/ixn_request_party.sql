-- ixn_request_party picks the party an action works on: the one at p_resource when one is
-- named, else the first of the interaction's parties in one of p_states. NULL when none.
CREATE OR REPLACE FUNCTION ixn_request_party(p_session_id text, p_interaction_id text, p_resource text, p_states party_state[])
RETURNS parties
LANGUAGE sql STABLE AS $$
    SELECT * FROM parties
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state <> 'released'
       AND (resource = p_resource OR (p_resource IS NULL AND state = ANY (p_states)))
     ORDER BY state = ANY (p_states) DESC, created_at, party_id
     LIMIT 1
$$;
