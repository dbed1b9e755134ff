-- An interaction added again to a session after it left starts its facts anew.
CREATE OR REPLACE FUNCTION ixn_track_readd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.moved_to := NULL;
    NEW.first_established_at := NULL;
    NEW.transfers := 0;
    NEW.conferences := 0;
    DELETE FROM interaction_resources WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER interactions_track_readd BEFORE UPDATE OF state ON interactions
    FOR EACH ROW WHEN (OLD.state = 'deleted' AND NEW.state <> 'deleted') EXECUTE FUNCTION ixn_track_readd();
