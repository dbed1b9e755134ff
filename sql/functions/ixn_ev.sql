CREATE OR REPLACE FUNCTION ixn_ev(p_name event_name, p_attrs jsonb) RETURNS ixn_event
LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(p_name, p_attrs)::ixn_event $$;
