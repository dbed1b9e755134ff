-- Every state change of a session is one of the functions of sql/functions, called as one
-- statement: one round trip, one implicit transaction that updates the state tables and writes
-- the events the change causes into the outbox, or raises and writes nothing.
--
-- Each function first locks its session's row (ixn_session_lock, or ixn_session_row for the
-- media side's changes). Later statements in a PL/pgSQL function take a fresh snapshot, so a
-- writer that waited for the lock sees what the previous holder committed, and its checks are
-- made against the current state.
--
-- Errors are raised with our own SQLSTATEs, translated to service errors in one place
-- (service/errors.go):
--   IXNF0 not found          IXST0 illegal state transition     IXCF0 already exists
--   IXSE0 session has ended  IXLL0 lease lost (stale epoch)     IXIV0 invalid value
--   IXRE0 the request has already ended (a late or contradicting report)
--   IXLH0 the session is held by a live node                    IXNL0 the node is not live
--   IXPL0 the party has already left the interaction            IXKR0 an idempotency key reused

-- ixn_session_lock locks the session's row until commit and reserves p_reserve sequence
-- numbers in the same update (most changes write exactly one event, and then the session row
-- is updated once). It returns the row with last_seq set to the number before the reserved
-- ones.
CREATE OR REPLACE FUNCTION ixn_session_lock(p_session_id text, p_epoch bigint, p_reserve int) RETURNS sessions
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    UPDATE sessions SET last_seq = last_seq + p_reserve, updated_at = now()
     WHERE session_id = p_session_id
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF s.state <> 'active' THEN
        RAISE EXCEPTION 'session % has ended', p_session_id USING ERRCODE = 'IXSE0';
    END IF;
    IF p_epoch IS NOT NULL AND p_epoch <> s.lease_epoch THEN
        RAISE EXCEPTION 'the lease of session % was lost: epoch % is not the current epoch %',
            p_session_id, p_epoch, s.lease_epoch USING ERRCODE = 'IXLL0';
    END IF;
    s.last_seq := s.last_seq - p_reserve;
    RETURN s;
END $$;
