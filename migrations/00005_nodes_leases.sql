-- Routing nodes and session ownership. A node registers and heartbeats; each heartbeat
-- renews the node's lease, and with it the lease of every session the node owns. A session
-- whose owner's lease has lapsed (or that has no owner) is orphaned: another node may claim
-- it. A claim, a release and a handover each raise the session's lease_epoch, the fencing
-- number every write of the owner carries (X-Lease-Epoch): a write with an older epoch is
-- refused by ixn_session_lock, inside the write's own transaction, under the session's lock.
--
-- Time is the database's (now()), never a node's clock.
--
-- New SQLSTATEs: IXLH0 the session is held by a live node; IXNL0 the node is not live.

-- +goose Up

-- A session's lease is its owner's: there is no lease time per session.
ALTER TABLE sessions DROP COLUMN lease_expires_at;

CREATE TABLE nodes (
    node_id          ixn_id      PRIMARY KEY,
    address          text,
    -- How many sessions the node takes; orphans are assigned by spare capacity.
    capacity         int         NOT NULL,
    lease_ms         bigint      NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    -- false once the node has left in order (it released its sessions).
    live             boolean     NOT NULL DEFAULT true,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at     timestamptz NOT NULL DEFAULT now()
);

-- The node that owns an interaction's session while the interaction is live, kept when it
-- ends: the node that handled it, for reports by node without reading every session.
ALTER TABLE interactions ADD COLUMN owner_node ixn_id;

-- +goose StatementBegin
CREATE FUNCTION ixn_interaction_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.owner_node := (SELECT owner_node FROM sessions WHERE session_id = NEW.session_id);
    RETURN NEW;
END $$;
-- +goose StatementEnd
-- On insert, and when an interaction is added again to a session it had left.
CREATE TRIGGER interactions_owner_insert BEFORE INSERT ON interactions
    FOR EACH ROW WHEN (NEW.owner_node IS NULL) EXECUTE FUNCTION ixn_interaction_owner();
CREATE TRIGGER interactions_owner_readd BEFORE UPDATE OF state ON interactions
    FOR EACH ROW WHEN (OLD.state = 'deleted' AND NEW.state <> 'deleted') EXECUTE FUNCTION ixn_interaction_owner();

-- Unowned active sessions, found without scanning the owned ones.
CREATE INDEX sessions_unowned_idx ON sessions (session_id) WHERE state = 'active' AND owner_node IS NULL;

-- +goose StatementBegin
CREATE FUNCTION ixn_node_alive(n nodes) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT n.live AND n.lease_expires_at > now() $$;
-- +goose StatementEnd

-- ixn_node_live returns a node that may take sessions, or raises.
-- +goose StatementBegin
CREATE FUNCTION ixn_node_live(p_node_id text) RETURNS nodes
LANGUAGE plpgsql AS $$
DECLARE
    n nodes;
BEGIN
    SELECT * INTO n FROM nodes WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF NOT ixn_node_alive(n) THEN
        RAISE EXCEPTION 'node % is not live: %', p_node_id,
            CASE WHEN n.live THEN 'its lease lapsed at ' || n.lease_expires_at ELSE 'it has left' END
            USING ERRCODE = 'IXNL0';
    END IF;
    RETURN n;
END $$;
-- +goose StatementEnd

-- ixn_session_take gives a locked session to p_node_id under a new epoch and writes
-- interaction.restored for each of its live interactions, in the order they were added, so
-- that the new owner continues them. The events carry the new owner and epoch.
-- +goose StatementBegin
CREATE FUNCTION ixn_session_take(p_session_id text, p_node_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    UPDATE sessions SET owner_node = p_node_id, lease_epoch = lease_epoch + 1, updated_at = now()
     WHERE session_id = p_session_id
    RETURNING * INTO s;
    UPDATE interactions SET owner_node = p_node_id WHERE session_id = p_session_id AND state <> 'deleted';
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY(
        SELECT ixn_ev('interaction.restored', jsonb_build_object('interactionid', interaction_id))
          FROM interactions
         WHERE session_id = p_session_id AND state <> 'deleted'
         ORDER BY created_at, interaction_id));
END $$;
-- +goose StatementEnd

-- ixn_session_claim: a live node takes a session whose owner is gone (no owner, or the
-- owner's lease has lapsed or it left). Of several nodes claiming at once, the first to lock
-- the row wins; the others find the session held by a live node (IXLH0). A node may claim a
-- session it owns again (after its own restart): it gets a new epoch and the restore.
-- +goose StatementBegin
CREATE FUNCTION ixn_session_claim(p_session_id text, p_node_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s     sessions := ixn_session_row(p_session_id);
    owner nodes;
BEGIN
    IF s.state <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    PERFORM ixn_node_live(p_node_id);
    IF s.owner_node IS DISTINCT FROM p_node_id THEN
        SELECT * INTO owner FROM nodes WHERE node_id = s.owner_node;
        IF FOUND AND ixn_node_alive(owner) THEN
            RAISE EXCEPTION 'session % is held by live node % (lease until %)', p_session_id, owner.node_id,
                owner.lease_expires_at USING ERRCODE = 'IXLH0';
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_node_id);
END $$;
-- +goose StatementEnd

-- ixn_session_release: the owner lets the session go, under the epoch it holds: to nobody
-- (it is orphaned at once, for any node to claim) or to a named live node, which gets the
-- restore. Either way the epoch is raised, so the old owner's later writes are refused.
-- +goose StatementBegin
CREATE FUNCTION ixn_session_release(p_session_id text, p_epoch bigint, p_to_node text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions := ixn_session_lock(p_session_id, p_epoch, 0);
BEGIN
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
        RETURN QUERY SELECT * FROM ixn_session_take(p_session_id, p_to_node);
        RETURN;
    END IF;
    UPDATE sessions SET owner_node = NULL, lease_epoch = lease_epoch + 1 WHERE session_id = p_session_id;
    UPDATE interactions SET owner_node = NULL WHERE session_id = p_session_id AND state <> 'deleted';
END $$;
-- +goose StatementEnd

-- ixn_node_leave: a node shuts down in order. It is marked as left, and each of its sessions
-- is released to p_to_node (with the restore) or to nobody. Returns the sessions as they now
-- are.
-- +goose StatementBegin
CREATE FUNCTION ixn_node_leave(p_node_id text, p_to_node text) RETURNS SETOF sessions
LANGUAGE plpgsql AS $$
DECLARE
    sid      text;
    released text[] := '{}';
BEGIN
    IF p_to_node = p_node_id THEN
        RAISE EXCEPTION 'a node cannot hand its sessions to itself' USING ERRCODE = 'IXIV0';
    END IF;
    UPDATE nodes SET live = false, lease_expires_at = now() WHERE node_id = p_node_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % is not registered', p_node_id USING ERRCODE = 'IXNF0';
    END IF;
    IF p_to_node IS NOT NULL THEN
        PERFORM ixn_node_live(p_to_node);
    END IF;
    -- Sessions in id order: the same lock order as every other multi-session change.
    FOR sid IN SELECT session_id FROM sessions WHERE owner_node = p_node_id AND state = 'active'
                ORDER BY session_id LOOP
        PERFORM ixn_session_release(sid, NULL, p_to_node);
        released := released || sid;
    END LOOP;
    RETURN QUERY SELECT * FROM sessions WHERE session_id = ANY (released) ORDER BY session_id;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ixn_node_leave, ixn_session_release, ixn_session_claim, ixn_session_take, ixn_node_live, ixn_node_alive;
DROP TRIGGER interactions_owner_readd ON interactions;
DROP TRIGGER interactions_owner_insert ON interactions;
DROP FUNCTION ixn_interaction_owner;
ALTER TABLE interactions DROP COLUMN owner_node;
DROP INDEX sessions_unowned_idx;
DROP TABLE nodes;
ALTER TABLE sessions ADD COLUMN lease_expires_at timestamptz;
