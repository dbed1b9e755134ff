-- When a ringing party is first connected (alerting → established): the only party update
-- that fires it, so a party going between established and held pays nothing.
CREATE OR REPLACE FUNCTION ixn_track_connect() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE interactions SET first_established_at = now()
     WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id AND first_established_at IS NULL;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER parties_track_connect AFTER UPDATE OF state ON parties
    FOR EACH ROW WHEN (OLD.state = 'alerting' AND NEW.state = 'established') EXECUTE FUNCTION ixn_track_connect();
