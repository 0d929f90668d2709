-- +goose Up
ALTER TABLE filters ADD COLUMN throttled BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE filters DROP COLUMN throttled;
