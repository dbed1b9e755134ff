-- Party attributes as the party events carry them. STABLE (as jsonb_build_object is) so that
-- the planner inlines it: an SQL function that is not inlined is parsed again on each call.
CREATE OR REPLACE FUNCTION ixn_party_attrs(p parties) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('interactionid', p.interaction_id, 'focusresource', p.resource,
                              'partyid', p.party_id, 'partystate', p.state)
$$;
