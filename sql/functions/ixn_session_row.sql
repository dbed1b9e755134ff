-- ixn_session_row locks a session's row for a change made by the media side or by ixnstore
-- itself: no epoch to check, and an ended session is the caller's to judge.
CREATE OR REPLACE FUNCTION ixn_session_row(p_session_id text) RETURNS sessions
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
BEGIN
    SELECT * INTO s FROM sessions WHERE session_id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % not found', p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    RETURN s;
END $$;
