-- ixn_track_event keeps what an event says for the reports; ixn_publish calls it for the
-- events named here, with the seq the event is written at.
CREATE OR REPLACE FUNCTION ixn_track_event(p_session_id text, p_seq bigint, e ixn_event) RETURNS void
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
