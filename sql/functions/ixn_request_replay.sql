-- ixn_request_replay answers a report on a request that has already ended: the same report
-- again gets the events it wrote the first time; any other report is refused (IXRE0).
CREATE OR REPLACE FUNCTION ixn_request_replay(r action_requests, p_outcome jsonb) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
BEGIN
    IF r.outcome IS DISTINCT FROM p_outcome THEN
        RAISE EXCEPTION 'request % of session % has already ended: %', r.request_id, r.session_id,
            CASE WHEN r.state = 'done' THEN 'done' ELSE r.error || ' (' || r.description || ')' END
            USING ERRCODE = 'IXRE0';
    END IF;
    RETURN QUERY SELECT * FROM outbox
                  WHERE session_id = r.session_id AND seq BETWEEN r.answer_first_seq AND r.answer_last_seq
                  ORDER BY seq;
END $$;
