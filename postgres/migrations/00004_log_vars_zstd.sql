-- +goose Up
-- Variable dumps hold whole wikitexts: they are kept compressed (zstd), as
-- AbuseFilter keeps its dumps in gzip'd text rows. vars stays for rows
-- written before.
ALTER TABLE abuse_log ADD COLUMN vars_zstd BYTEA;

-- +goose Down
ALTER TABLE abuse_log DROP COLUMN vars_zstd;
