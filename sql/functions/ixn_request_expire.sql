-- ixn_request_expire ends a request whose deadline has passed with error timeout. It does
-- nothing when the request ended meanwhile (answered, or expired by another instance).
CREATE OR REPLACE FUNCTION ixn_request_expire(p_session_id text, p_request_id text) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s sessions := ixn_session_row(p_session_id);
    r action_requests;
BEGIN
    SELECT * INTO r FROM action_requests
     WHERE session_id = p_session_id AND request_id = p_request_id AND state = 'pending' AND deadline <= now();
    IF FOUND THEN
        RETURN QUERY SELECT * FROM ixn_request_fail(s, r, 'timeout',
            format('no answer from the media side within %s', ixn_duration_text(r.timeout_ms)),
            NULL);
    END IF;
END $$;
