-- ixn_request_error_event is the error event that ends a request.
CREATE OR REPLACE FUNCTION ixn_request_error_event(p_action action_name, p_request_id text, p_error text, p_description text)
RETURNS ixn_event
LANGUAGE sql IMMUTABLE AS $$
    SELECT ixn_ev(('error.interaction.' || p_action)::event_name,
                  jsonb_build_object('requestid', p_request_id, 'error', p_error, 'description', p_description))
$$;
