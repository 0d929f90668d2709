-- +goose Up
-- The protected fields of a recent action (IP address, user agent), apart
-- from the payload: only tests run with the read-protected right see them.
ALTER TABLE recent_actions ADD COLUMN protected BLOB;

-- +goose Down
ALTER TABLE recent_actions DROP COLUMN protected;
