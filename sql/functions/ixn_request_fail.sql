-- ixn_request_fail ends a pending request with its error event; the session row is locked.
CREATE OR REPLACE FUNCTION ixn_request_fail(s sessions, r action_requests, p_error text, p_description text, p_outcome jsonb)
RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE action_requests
       SET state = 'failed', error = p_error, description = p_description, outcome = p_outcome,
           answer_first_seq = s.last_seq + 1, answer_last_seq = s.last_seq + 1, answered_at = now()
     WHERE session_id = r.session_id AND request_id = r.request_id;
    RETURN QUERY SELECT * FROM ixn_publish(s, 0, ARRAY[
        ixn_request_error_event(r.action, r.request_id, p_error, p_description)]);
END $$;
