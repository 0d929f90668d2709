-- +goose Up
-- Where an entry's variable dump is when it is kept in the abuse log's dump
-- files (sqlstore.dumpFiles) rather than in vars_zstd: file number, offset of
-- its record, length and CRC-32C of the compressed dump.
ALTER TABLE abuse_log ADD COLUMN dump_file INTEGER;
ALTER TABLE abuse_log ADD COLUMN dump_offset INTEGER;
ALTER TABLE abuse_log ADD COLUMN dump_length INTEGER;
ALTER TABLE abuse_log ADD COLUMN dump_crc INTEGER;

-- +goose Down
-- Not reversible: rows written since keep their dumps only in the dump files.
-- Restore a backup taken before the upgrade.
SELECT vigil_migration_00005_is_not_reversible_restore_a_backup FROM abuse_log;
