-- name: UserDataListBySession :many
SELECT u.* FROM user_data u
  JOIN interactions i USING (session_id, interaction_id)
 WHERE u.session_id = @session_id AND i.state <> 'deleted'
 ORDER BY u.interaction_id, u.key;

-- name: UserDataListByInteraction :many
SELECT * FROM user_data
 WHERE session_id = @session_id AND interaction_id = @interaction_id
 ORDER BY key;

-- name: UserDataWrite :many
SELECT * FROM ixn_udata_write(@session_id, sqlc.narg(epoch)::bigint, @interaction_id, @data::jsonb,
    @replace::boolean, @from_media::boolean);
