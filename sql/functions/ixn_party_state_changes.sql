-- ixn_party_state_changes applies several party state changes in one statement, and so in
-- one transaction and one commit: shared commits (service/shared.go). Each change runs as
-- ixn_party_state_change would alone, in a subtransaction of its own, so a refused change
-- writes nothing and refuses only itself: its row here carries the SQLSTATE, message and
-- constraint of the refusal; a change that went through has one row per event it wrote.
-- An epoch of 0 is none (a change from the media side). Changes are applied in the order of
-- their session ids (and, within a session, in the order given), so two statements lock
-- sessions in the same order and cannot deadlock.
-- Few enough changes go in one call that their subtransactions stay within the 64 a backend
-- tracks without spilling (service.maxSharedCommit).
CREATE OR REPLACE FUNCTION ixn_party_state_changes(
    p_session_ids text[], p_epochs bigint[], p_interaction_ids text[], p_party_ids text[],
    p_states text[], p_hints jsonb[]
) RETURNS TABLE (item int, err_code text, err_message text, err_constraint text, ev outbox)
LANGUAGE plpgsql AS $$
DECLARE
    k    int;
    evs  outbox[];
    e    outbox;
BEGIN
    FOR k IN
        SELECT u.ord FROM unnest(p_session_ids) WITH ORDINALITY AS u(sid, ord) ORDER BY u.sid, u.ord
    LOOP
        item := k;
        BEGIN
            evs := ARRAY(SELECT o FROM ixn_party_state_change(p_session_ids[k], nullif(p_epochs[k], 0), p_interaction_ids[k],
                                                             p_party_ids[k], p_states[k]::party_state, p_hints[k]) AS o);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                                    err_constraint = CONSTRAINT_NAME;
            ev := NULL;
            RETURN NEXT;
            CONTINUE;
        END;
        err_code := NULL; err_message := NULL; err_constraint := NULL;
        FOREACH e IN ARRAY evs LOOP
            ev := e;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END $$;
