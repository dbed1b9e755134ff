-- +goose Up
-- User data by key and value (reporting's udata_key/udata_value filter) is indexed by a hash
-- of the value, not the value itself: a btree entry holds at most about 2.7 KB, so an index on
-- the value refused every user-data value larger than that (500 on a write). The hash is
-- jsonb's own, the one its equality agrees with (1.0 and 1.00 hash alike); the filter compares
-- the hashes, then the values.
DROP INDEX user_data_key_value_idx;
CREATE INDEX user_data_key_value_hash_idx ON user_data (key, jsonb_hash_extended(value, 0));

-- +goose Down
DROP INDEX user_data_key_value_hash_idx;
CREATE INDEX user_data_key_value_idx ON user_data (key, value);
