-- +goose Up
-- When each entry's protected data (IP address, user agent, protected
-- variables) was logged, so that it can be purged when its retention ends
-- (Store.PurgeProtected) through an index, without walking the whole log.
ALTER TABLE abuse_log_protected ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
UPDATE abuse_log_protected SET created_at = COALESCE((SELECT l.created_at FROM abuse_log l WHERE l.id = abuse_log_protected.log_id), 0);
CREATE INDEX abuse_log_protected_time ON abuse_log_protected (created_at);

-- +goose Down
DROP INDEX abuse_log_protected_time;
ALTER TABLE abuse_log_protected DROP COLUMN created_at;
