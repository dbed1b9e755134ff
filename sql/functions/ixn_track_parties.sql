-- ixn_track_parties is ixn_track_party for every party of an interaction, once: for an
-- interaction that has just come into a session with its parties (added, associated).
CREATE OR REPLACE FUNCTION ixn_track_parties(p_session_id text, p_interaction_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT DISTINCT ON (p.resource) p.session_id, p.interaction_id, p.resource, p.party_id, p.role, i.created_at
      FROM parties p
      JOIN interactions i ON i.session_id = p.session_id AND i.interaction_id = p.interaction_id
     WHERE p.session_id = p_session_id AND p.interaction_id = p_interaction_id
     ORDER BY p.resource, p.party_id
    ON CONFLICT DO NOTHING;
    UPDATE interactions SET first_established_at = now()
     WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND first_established_at IS NULL
       AND EXISTS (SELECT 1 FROM parties
                    WHERE session_id = p_session_id AND interaction_id = p_interaction_id AND state = 'established');
END $$;
