-- The node that owns an interaction's session while the interaction is live, kept when it
-- ends (interactions.owner_node).
CREATE OR REPLACE FUNCTION ixn_interaction_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.owner_node := (SELECT owner_node FROM sessions WHERE session_id = NEW.session_id);
    RETURN NEW;
END $$;
-- On insert, and when an interaction is added again to a session it had left.
CREATE OR REPLACE TRIGGER interactions_owner_insert BEFORE INSERT ON interactions
    FOR EACH ROW WHEN (NEW.owner_node IS NULL) EXECUTE FUNCTION ixn_interaction_owner();
CREATE OR REPLACE TRIGGER interactions_owner_readd BEFORE UPDATE OF state ON interactions
    FOR EACH ROW WHEN (OLD.state = 'deleted' AND NEW.state <> 'deleted') EXECUTE FUNCTION ixn_interaction_owner();
