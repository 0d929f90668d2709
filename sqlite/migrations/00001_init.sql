-- +goose Up
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO meta (name, value) VALUES ('filters_generation', 0);

CREATE TABLE filters (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	wiki       TEXT NOT NULL,
	grp        TEXT NOT NULL,
	global     INTEGER NOT NULL,
	name       TEXT NOT NULL,
	pattern    TEXT NOT NULL,
	notes      TEXT NOT NULL,
	enabled    INTEGER NOT NULL,
	deleted    INTEGER NOT NULL,
	log_only   INTEGER NOT NULL,
	privacy    TEXT NOT NULL,
	actions    TEXT NOT NULL,
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE INDEX filters_wiki ON filters (wiki, grp);

CREATE TABLE filter_versions (
	filter_id  INTEGER NOT NULL REFERENCES filters (id),
	version    INTEGER NOT NULL,
	data       TEXT NOT NULL,
	author     TEXT NOT NULL,
	summary    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (filter_id, version)
);

CREATE TABLE abuse_log (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	wiki           TEXT NOT NULL,
	filter_id      INTEGER NOT NULL,
	filter_version INTEGER NOT NULL,
	action         TEXT NOT NULL,
	performer      TEXT NOT NULL,
	page_namespace INTEGER NOT NULL,
	page_title     TEXT NOT NULL,
	actions_taken  TEXT NOT NULL,
	log_only       INTEGER NOT NULL,
	vars           TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX abuse_log_wiki ON abuse_log (wiki, id);
CREATE INDEX abuse_log_filter ON abuse_log (filter_id, id);
CREATE INDEX abuse_log_performer ON abuse_log (performer, id);
CREATE INDEX abuse_log_page ON abuse_log (page_title, page_namespace, id);
CREATE INDEX abuse_log_time ON abuse_log (created_at);

CREATE TABLE abuse_log_protected (
	log_id     INTEGER PRIMARY KEY REFERENCES abuse_log (id),
	ip         TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	vars       TEXT NOT NULL
);

CREATE TABLE blocks (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	wiki        TEXT NOT NULL,
	target      TEXT NOT NULL,
	expiry      INTEGER NOT NULL,
	reason      TEXT NOT NULL,
	filter_id   INTEGER NOT NULL,
	talk_access INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	UNIQUE (wiki, target)
);

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL UNIQUE,
	hash       BLOB NOT NULL UNIQUE,
	scopes     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked    INTEGER NOT NULL
);

CREATE TABLE audit (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at INTEGER NOT NULL,
	token      TEXT NOT NULL,
	access     TEXT NOT NULL,
	resource   TEXT NOT NULL,
	reason     TEXT NOT NULL
);

CREATE TABLE recent_actions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	wiki       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	payload    BLOB NOT NULL
);
CREATE INDEX recent_actions_wiki ON recent_actions (wiki, id);
CREATE INDEX recent_actions_time ON recent_actions (created_at);

CREATE TABLE filter_stats (
	filter_id     INTEGER PRIMARY KEY,
	checked       INTEGER NOT NULL,
	matches       INTEGER NOT NULL,
	total_time_ns INTEGER NOT NULL,
	conditions    INTEGER NOT NULL,
	overflows     INTEGER NOT NULL,
	errors        INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

-- +goose Down
DROP TABLE filter_stats;
DROP TABLE recent_actions;
DROP TABLE audit;
DROP TABLE tokens;
DROP TABLE blocks;
DROP TABLE abuse_log_protected;
DROP TABLE abuse_log;
DROP TABLE filter_versions;
DROP TABLE filters;
DROP TABLE meta;
