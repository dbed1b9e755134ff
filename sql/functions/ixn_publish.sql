-- ixn_publish writes the events into the outbox numbered after s.last_seq, and takes the
-- numbers beyond the p_reserved ones that ixn_session_lock already took. The events the
-- reports keep facts of are handed to ixn_track_event first (the parties of an added
-- interaction are in place by then).
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
