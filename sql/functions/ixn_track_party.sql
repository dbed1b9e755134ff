-- ixn_track_party keeps the reports' facts of a party that joined an interaction: its
-- resource among those ever on the interaction (the first party at a resource is kept), and
-- the interaction's first connection when it joined established. The writers call it after
-- their insert; the facts are kept by code rather than by triggers, which a table sharded
-- by session may not have.
CREATE OR REPLACE FUNCTION ixn_track_party(p parties) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT p.session_id, p.interaction_id, p.resource, p.party_id, p.role, i.created_at
      FROM interactions i
     WHERE i.session_id = p.session_id AND i.interaction_id = p.interaction_id
    ON CONFLICT DO NOTHING;
    IF p.state = 'established' THEN
        UPDATE interactions SET first_established_at = now()
         WHERE session_id = p.session_id AND interaction_id = p.interaction_id AND first_established_at IS NULL;
    END IF;
END $$;
