-- What the media side reports about an interaction, each applied with the events it causes.

-- name: ReportDivert :many
SELECT * FROM ixn_party_leave('interaction.ondivert', 'diverting', @session_id, sqlc.narg(epoch)::bigint,
    @interaction_id, @party_id, @new_destination, @hints::jsonb);

-- name: ReportSingleStepTransfer :many
SELECT * FROM ixn_party_leave('interaction.onsinglesteptransfer', 'transferring', @session_id,
    sqlc.narg(epoch)::bigint, @interaction_id, @party_id, @new_destination, @hints::jsonb);

-- name: ReportSingleStepConference :many
SELECT * FROM ixn_single_step_conference(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @party_id,
    @added_party_id, @added_resource, @added_state, sqlc.narg(added_role), @hints::jsonb);

-- name: ReportMerge :many
SELECT * FROM ixn_merge(@session_id, sqlc.narg(epoch)::bigint, @from_interaction_id, @to_interaction_id,
    @active_party_id, @held_party_id, @hints::jsonb);

-- name: ReportAbandoned :many
SELECT * FROM ixn_abandon(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @focus_resource, @reason,
    @hints::jsonb);
