-- name: StoreCounts :one
-- How many rows each table holds: for checks that a refused change wrote nothing.
SELECT (SELECT count(*) FROM sessions)     AS sessions,
       (SELECT count(*) FROM interactions) AS interactions,
       (SELECT count(*) FROM parties)      AS parties,
       (SELECT count(*) FROM user_data)    AS user_data,
       (SELECT count(*) FROM events)       AS events,
       (SELECT count(*) FROM action_requests) AS requests;
