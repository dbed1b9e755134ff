-- ixn_request_replay answers a report on a request that has already ended: the same report
-- again gets the events it wrote the first time; any other report is refused (IXRE0). A done
-- associate wrote events in two sessions: those of the target session were written by the
-- same transaction (the same txid) and follow, as in the first answer.
CREATE OR REPLACE FUNCTION ixn_request_replay(r action_requests, p_outcome jsonb) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
BEGIN
    IF r.outcome IS DISTINCT FROM p_outcome THEN
        RAISE EXCEPTION 'request % of session % has already ended: %', r.request_id, r.session_id,
            CASE WHEN r.state = 'done' THEN 'done' ELSE r.error || ' (' || r.description || ')' END
            USING ERRCODE = 'IXRE0';
    END IF;
    RETURN QUERY SELECT * FROM events
                  WHERE session_id = r.session_id AND seq BETWEEN r.answer_first_seq AND r.answer_last_seq
                  ORDER BY seq;
    IF r.action = 'associate' AND r.state = 'done' THEN
        RETURN QUERY SELECT o.* FROM events o
                      WHERE o.session_id = r.params->>'sessionid'
                        AND o.txid = (SELECT a.txid FROM events a
                                       WHERE a.session_id = r.session_id AND a.seq = r.answer_first_seq)
                      ORDER BY o.seq;
    END IF;
END $$;
