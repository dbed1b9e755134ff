-- Every resource ever on an interaction (interaction_resources) and when a party was first
-- connected, for parties added established. A statement trigger: an interaction added with its
-- parties pays once.
CREATE OR REPLACE FUNCTION ixn_track_party_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT DISTINCT ON (a.session_id, a.interaction_id, a.resource) a.session_id, a.interaction_id, a.resource,
           a.party_id, a.role, i.created_at
      FROM added a
      JOIN interactions i ON i.session_id = a.session_id AND i.interaction_id = a.interaction_id
     ORDER BY a.session_id, a.interaction_id, a.resource, a.party_id
    ON CONFLICT DO NOTHING;
    UPDATE interactions i SET first_established_at = now()
      FROM (SELECT DISTINCT session_id, interaction_id FROM added WHERE state = 'established') a
     WHERE i.session_id = a.session_id AND i.interaction_id = a.interaction_id AND i.first_established_at IS NULL;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER parties_track_insert AFTER INSERT ON parties
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ixn_track_party_insert();
