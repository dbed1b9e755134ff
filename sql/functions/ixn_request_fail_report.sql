-- ixn_request_fail_report: the media side could not do the action.
CREATE OR REPLACE FUNCTION ixn_request_fail_report(p_session_id text, p_request_id text, p_error text, p_description text)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s         sessions := ixn_session_row(p_session_id);
    r         action_requests;
    v_outcome jsonb := jsonb_build_object('result', 'failed', 'error', p_error, 'description', p_description);
BEGIN
    SELECT * INTO r FROM action_requests WHERE session_id = p_session_id AND request_id = p_request_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'request % not found in session %', p_request_id, p_session_id USING ERRCODE = 'IXNF0';
    END IF;
    IF r.state <> 'pending' THEN
        RETURN QUERY SELECT * FROM ixn_request_replay(r, v_outcome);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM ixn_request_fail(s, r, p_error, p_description, v_outcome);
END $$;
