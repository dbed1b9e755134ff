-- The party states and the moves between them; released is final.
CREATE OR REPLACE FUNCTION ixn_party_transition_allowed(p_from party_state, p_to party_state) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_from, p_to) IN (('alerting', 'established'), ('alerting', 'held'), ('alerting', 'released'),
                              ('established', 'held'), ('established', 'released'),
                              ('held', 'established'), ('held', 'released'))
$$;
