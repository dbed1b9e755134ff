CREATE OR REPLACE FUNCTION ixn_interaction_add(
    p_session_id text, p_epoch bigint, p_interaction_id text, p_media text, p_type interaction_type,
    p_parent_id text, p_tenant_id text, p_parties jsonb, p_udata jsonb, p_properties jsonb
) RETURNS SETOF outbox
LANGUAGE plpgsql AS $$
DECLARE
    s     sessions := ixn_session_lock(p_session_id, p_epoch, 1);
BEGIN
    -- Refused when it is live in this session or another.
    PERFORM ixn_live_enter(p_session_id, p_interaction_id);
    -- A deleted interaction that comes back to the same session is added anew: the facts it
    -- had there start again (owner, resources, first connection, moves and counts).
    INSERT INTO interactions AS i (session_id, interaction_id, media, type, parent_id, tenant_id, properties, owner_node)
    VALUES (p_session_id, p_interaction_id, p_media, p_type, p_parent_id, coalesce(p_tenant_id, s.tenant_id),
            coalesce(p_properties, '{}'), s.owner_node)
    ON CONFLICT (session_id, interaction_id) DO UPDATE
       SET media = EXCLUDED.media, type = EXCLUDED.type, parent_id = EXCLUDED.parent_id,
           tenant_id = EXCLUDED.tenant_id, properties = EXCLUDED.properties, state = 'added', controlled = false, merged_into = NULL,
           abandoned_at = NULL, created_at = now(), updated_at = now(), deleted_at = NULL,
           owner_node = EXCLUDED.owner_node, moved_to = NULL, first_established_at = NULL, transfers = 0, conferences = 0
     WHERE i.state = 'deleted';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'interaction % is already in session %', p_interaction_id, p_session_id
            USING ERRCODE = 'IXCF0';
    END IF;
    DELETE FROM interaction_resources WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    DELETE FROM parties WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    DELETE FROM user_data WHERE session_id = p_session_id AND interaction_id = p_interaction_id;
    -- Parties and user data the interaction had before it was added come with it, without
    -- events of their own (the reference: they are there "from the beginning").
    INSERT INTO parties (session_id, interaction_id, party_id, resource, state, role)
    SELECT p_session_id, p_interaction_id, p.party_id, p.resource, p.state, coalesce(p.role, 'unknown')
      FROM jsonb_to_recordset(coalesce(p_parties, '[]')) AS p(party_id text, resource text, state party_state, role party_role);
    INSERT INTO user_data (session_id, interaction_id, key, value)
    SELECT p_session_id, p_interaction_id, d.key, d.value
      FROM jsonb_each(coalesce(p_udata, '{}')) AS d
     WHERE jsonb_typeof(d.value) <> 'null';
    IF jsonb_array_length(coalesce(p_parties, '[]')) > 0 THEN
        PERFORM ixn_track_parties(p_session_id, p_interaction_id);
    END IF;
    RETURN QUERY SELECT * FROM ixn_publish(s, 1, ARRAY[
        ixn_ev('interaction.added', jsonb_build_object('interactionid', p_interaction_id))]);
END $$;
