-- A merge moves parties to the primary interaction by updating their interaction: the
-- resources join it.
CREATE OR REPLACE FUNCTION ixn_track_party_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT NEW.session_id, NEW.interaction_id, NEW.resource, NEW.party_id, NEW.role, i.created_at
      FROM interactions i
     WHERE i.session_id = NEW.session_id AND i.interaction_id = NEW.interaction_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER parties_track_move AFTER UPDATE OF interaction_id ON parties
    FOR EACH ROW WHEN (OLD.interaction_id IS DISTINCT FROM NEW.interaction_id) EXECUTE FUNCTION ixn_track_party_move();
