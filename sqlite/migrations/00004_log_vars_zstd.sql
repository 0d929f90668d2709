-- +goose Up
-- Variable dumps hold whole wikitexts: they are kept compressed (zstd), as
-- AbuseFilter keeps its dumps in gzip'd text rows. vars stays for rows
-- written before.
ALTER TABLE abuse_log ADD COLUMN vars_zstd BLOB;

-- +goose Down
-- Not reversible: rows written since keep their dumps only in vars_zstd,
-- which SQL cannot decompress. Restore a backup taken before the upgrade.
SELECT vigil_migration_00004_is_not_reversible_restore_a_backup FROM abuse_log;
