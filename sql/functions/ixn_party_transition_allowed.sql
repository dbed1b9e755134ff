-- The party states and the moves between them (docs/reference-choices.md maps them to
-- T-Library's states):
--   routing, queued, treatment  waiting for an agent: on a routing point, in a queue, hearing
--                               a treatment. They move among themselves as the strategy
--                               routes the call, and end at alerting (delivered), established
--                               (answered without ringing, e.g. by an IVR port) or released.
--   dialing                     an outbound leg being dialed: to alerting, established or
--                               released.
--   alerting                    to established, held or released, or back to waiting (no
--                               answer: the call returns to the routing point or the queue).
--   established                 to held or released, or to waiting (transferred to a routing
--                               point or a queue).
--   held                        to established or released.
--   released                    final: a party that reaches it leaves the interaction
--                               (ixn_party_state_change), so no move starts from it.
CREATE OR REPLACE FUNCTION ixn_party_transition_allowed(p_from party_state, p_to party_state) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_from IN ('routing', 'queued', 'treatment') THEN
            p_to IN ('routing', 'queued', 'treatment', 'alerting', 'established', 'released') AND p_to <> p_from
        WHEN p_from = 'dialing' THEN p_to IN ('alerting', 'established', 'released')
        WHEN p_from IN ('alerting', 'established') AND p_to IN ('routing', 'queued', 'treatment') THEN true
        ELSE (p_from, p_to) IN (('alerting', 'established'), ('alerting', 'held'), ('alerting', 'released'),
                                ('established', 'held'), ('established', 'released'),
                                ('held', 'established'), ('held', 'released'))
    END
$$;
