-- Reporting: what supervisors and reporting jobs ask of the interactions, answered from
-- indexes without slowing the writers.
--
-- Facts the state changes do not keep by themselves are derived where they happen, by
-- triggers, so that every path that causes them is covered:
--   interaction_resources   every resource (device) that was ever a party of an interaction:
--                           parties rows are deleted when parties leave, and "the calls agent
--                           7001 handled" must still find them
--   interaction_origins     the parties an interaction had when it was added (they come
--                           without events, "from the beginning"), from which its state at any
--                           past event can be rebuilt
--   first_established_at    when a party was first connected (alerting → established, or
--                           added established)
--   transfers, conferences  counted from the events that say so
-- The triggers fire on inserts of parties and on the rare party update that connects a
-- ringing party: the hot path, a party's state changing between established and held, pays
-- nothing. What the events themselves say (an interaction added, a transfer, a conference) is
-- taken where every event is written, in ixn_publish: a row trigger on the outbox, even one
-- whose WHEN is false, cost every change about 5% (its WHEN is prepared again for every
-- statement), where a test of the event names in ixn_publish costs nothing measurable.

-- +goose Up

ALTER TABLE interactions
    ADD COLUMN first_established_at timestamptz,
    ADD COLUMN transfers            int NOT NULL DEFAULT 0,
    ADD COLUMN conferences          int NOT NULL DEFAULT 0;

CREATE TABLE interaction_resources (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    resource       ixn_name    NOT NULL,
    -- The first party at the resource, its role, and when it joined.
    party_id       ixn_id      NOT NULL,
    role           party_role  NOT NULL,
    joined_at      timestamptz NOT NULL DEFAULT now(),
    -- The interaction's, so that a window of interactions finds its resources by index.
    interaction_created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, interaction_id, resource),
    FOREIGN KEY (session_id, interaction_id) REFERENCES interactions (session_id, interaction_id) ON DELETE CASCADE
);
CREATE INDEX interaction_resources_resource_idx ON interaction_resources (resource, joined_at);
-- A window's agents and devices, read from the index alone: the aggregates by resource.
CREATE INDEX interaction_resources_created_idx ON interaction_resources (interaction_created_at)
    INCLUDE (session_id, interaction_id, resource) WHERE role <> 'customer';

CREATE TABLE interaction_origins (
    session_id     ixn_id      NOT NULL,
    interaction_id ixn_id      NOT NULL,
    -- The seq of its interaction.added in the session.
    seq            bigint      NOT NULL,
    -- [{party_id, resource, state}] as it was added.
    parties        jsonb       NOT NULL,
    -- Pruned with the events (retention): a rebuild needs both.
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, interaction_id, seq)
);
CREATE INDEX interaction_origins_created_at_brin ON interaction_origins USING brin (created_at);

-- Indexes for the reporting queries: keyset order of the interaction list, the end time,
-- a node's sessions whether active or not, user data by key and value.
DROP INDEX interactions_created_at_idx;
CREATE INDEX interactions_created_at_idx ON interactions (created_at, session_id, interaction_id);
CREATE INDEX interactions_deleted_at_idx ON interactions (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX interactions_interaction_id_idx ON interactions (interaction_id);
CREATE INDEX interactions_owner_node_idx ON interactions (owner_node, created_at);
DROP INDEX sessions_owner_node_idx;
CREATE INDEX sessions_owner_node_idx ON sessions (owner_node);
DROP INDEX user_data_key_idx;
CREATE INDEX user_data_key_value_idx ON user_data (key, value);

-- +goose StatementBegin
CREATE FUNCTION ixn_track_party_insert() RETURNS trigger
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
-- +goose StatementEnd
CREATE TRIGGER parties_track_insert AFTER INSERT ON parties
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ixn_track_party_insert();

-- A merge moves parties to the primary interaction by updating their interaction: the
-- resources join it.
-- +goose StatementBegin
CREATE FUNCTION ixn_track_party_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, interaction_created_at)
    SELECT NEW.session_id, NEW.interaction_id, NEW.resource, NEW.party_id, NEW.role, i.created_at
      FROM interactions i
     WHERE i.session_id = NEW.session_id AND i.interaction_id = NEW.interaction_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER parties_track_move AFTER UPDATE OF interaction_id ON parties
    FOR EACH ROW WHEN (OLD.interaction_id IS DISTINCT FROM NEW.interaction_id) EXECUTE FUNCTION ixn_track_party_move();

-- +goose StatementBegin
CREATE FUNCTION ixn_track_connect() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE interactions SET first_established_at = now()
     WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id AND first_established_at IS NULL;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER parties_track_connect AFTER UPDATE OF state ON parties
    FOR EACH ROW WHEN (OLD.state = 'alerting' AND NEW.state = 'established') EXECUTE FUNCTION ixn_track_connect();

-- ixn_track_event keeps what an event says for the reports; ixn_publish calls it for the
-- events named here, with the seq the event is written at.
-- +goose StatementBegin
CREATE FUNCTION ixn_track_event(p_session_id text, p_seq bigint, e ixn_event) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF e.name = 'interaction.added' THEN
        INSERT INTO interaction_origins (session_id, interaction_id, seq, parties)
        SELECT p_session_id, e.attrs->>'interactionid', p_seq,
               coalesce(jsonb_agg(jsonb_build_object('party_id', party_id, 'resource', resource, 'state', state)
                                  ORDER BY created_at, party_id), '[]')
          FROM parties
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    ELSIF e.name IN ('interaction.onsinglesteptransfer', 'interaction.singlesteptransfer.done') THEN
        UPDATE interactions SET transfers = transfers + 1
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    ELSE
        UPDATE interactions SET conferences = conferences + 1
         WHERE session_id = p_session_id AND interaction_id = e.attrs->>'interactionid';
    END IF;
END $$;
-- +goose StatementEnd

-- ixn_publish as in 00002_state_changes.sql, and the events the reports keep facts of are
-- handed to ixn_track_event first (the parties of an added interaction are in place by then).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ixn_publish(s sessions, p_reserved int, p_events ixn_event[]) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_events), 0);
BEGIN
    IF n < p_reserved THEN
        -- Committing would leave a gap in the session's numbers.
        RAISE EXCEPTION 'internal error: % sequence numbers reserved for % events', p_reserved, n;
    END IF;
    IF n > p_reserved THEN
        UPDATE sessions SET last_seq = last_seq + (n - p_reserved) WHERE session_id = s.session_id;
    END IF;
    FOR k IN 1 .. n LOOP
        IF (p_events[k]).name IN ('interaction.added', 'interaction.onsinglesteptransfer',
                                  'interaction.singlesteptransfer.done', 'interaction.onsinglestepconference',
                                  'interaction.singlestepconference.done') THEN
            PERFORM ixn_track_event(s.session_id, s.last_seq + k, p_events[k]);
        END IF;
    END LOOP;
    RETURN QUERY
    INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch)
    SELECT s.session_id, s.last_seq + e.ord, e.name, e.attrs, s.owner_node, s.lease_epoch
      FROM unnest(p_events) WITH ORDINALITY AS e(name, attrs, ord)
    RETURNING *;
END $$;
-- +goose StatementEnd

-- An interaction added again to a session after it left starts its facts anew.
-- +goose StatementBegin
CREATE FUNCTION ixn_track_readd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.moved_to := NULL;
    NEW.first_established_at := NULL;
    NEW.transfers := 0;
    NEW.conferences := 0;
    DELETE FROM interaction_resources WHERE session_id = NEW.session_id AND interaction_id = NEW.interaction_id;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER interactions_track_readd BEFORE UPDATE OF state ON interactions
    FOR EACH ROW WHEN (OLD.state = 'deleted' AND NEW.state <> 'deleted') EXECUTE FUNCTION ixn_track_readd();

-- Facts of the interactions there already are, as far as the current state tells them.
INSERT INTO interaction_resources (session_id, interaction_id, resource, party_id, role, joined_at, interaction_created_at)
SELECT DISTINCT ON (p.session_id, p.interaction_id, p.resource) p.session_id, p.interaction_id, p.resource, p.party_id,
       p.role, p.created_at, i.created_at
  FROM parties p
  JOIN interactions i ON i.session_id = p.session_id AND i.interaction_id = p.interaction_id
 ORDER BY p.session_id, p.interaction_id, p.resource, p.created_at, p.party_id
ON CONFLICT DO NOTHING;

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ixn_publish(s sessions, p_reserved int, p_events ixn_event[]) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_events), 0);
BEGIN
    IF n < p_reserved THEN
        RAISE EXCEPTION 'internal error: % sequence numbers reserved for % events', p_reserved, n;
    END IF;
    IF n > p_reserved THEN
        UPDATE sessions SET last_seq = last_seq + (n - p_reserved) WHERE session_id = s.session_id;
    END IF;
    RETURN QUERY
    INSERT INTO outbox (session_id, seq, name, attrs, node_id, epoch)
    SELECT s.session_id, s.last_seq + e.ord, e.name, e.attrs, s.owner_node, s.lease_epoch
      FROM unnest(p_events) WITH ORDINALITY AS e(name, attrs, ord)
    RETURNING *;
END $$;
-- +goose StatementEnd
DROP TRIGGER interactions_track_readd ON interactions;
DROP TRIGGER parties_track_connect ON parties;
DROP TRIGGER parties_track_move ON parties;
DROP TRIGGER parties_track_insert ON parties;
DROP FUNCTION ixn_track_readd, ixn_track_event, ixn_track_connect, ixn_track_party_move, ixn_track_party_insert;
DROP INDEX user_data_key_value_idx;
CREATE INDEX user_data_key_idx ON user_data (key);
DROP INDEX sessions_owner_node_idx;
CREATE INDEX sessions_owner_node_idx ON sessions (owner_node) WHERE state = 'active';
DROP INDEX interactions_owner_node_idx, interactions_interaction_id_idx, interactions_deleted_at_idx, interactions_created_at_idx;
CREATE INDEX interactions_created_at_idx ON interactions (created_at);
DROP TABLE interaction_origins, interaction_resources;
ALTER TABLE interactions DROP COLUMN first_established_at, DROP COLUMN transfers, DROP COLUMN conferences;
