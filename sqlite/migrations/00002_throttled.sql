-- +goose Up
ALTER TABLE filters ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE filters DROP COLUMN throttled;
