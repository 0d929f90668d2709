-- +goose Up
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO meta (name, value) VALUES ('filters_generation', 0);

CREATE TABLE filters (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	wiki       TEXT NOT NULL,
	grp        TEXT NOT NULL,
	global     BOOLEAN NOT NULL,
	name       TEXT NOT NULL,
	pattern    TEXT NOT NULL,
	notes      TEXT NOT NULL,
	enabled    BOOLEAN NOT NULL,
	deleted    BOOLEAN NOT NULL,
	log_only   BOOLEAN NOT NULL,
	privacy    TEXT NOT NULL,
	actions    TEXT NOT NULL,
	version    BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE INDEX filters_wiki ON filters (wiki, grp);

CREATE TABLE filter_versions (
	filter_id  BIGINT NOT NULL REFERENCES filters (id),
	version    BIGINT NOT NULL,
	data       TEXT NOT NULL,
	author     TEXT NOT NULL,
	summary    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (filter_id, version)
);

CREATE TABLE abuse_log (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	wiki           TEXT NOT NULL,
	filter_id      BIGINT NOT NULL,
	filter_version BIGINT NOT NULL,
	action         TEXT NOT NULL,
	performer      TEXT NOT NULL,
	page_namespace BIGINT NOT NULL,
	page_title     TEXT NOT NULL,
	actions_taken  TEXT NOT NULL,
	log_only       BOOLEAN NOT NULL,
	vars           TEXT NOT NULL,
	created_at     BIGINT NOT NULL
);
CREATE INDEX abuse_log_wiki ON abuse_log (wiki, id);
CREATE INDEX abuse_log_filter ON abuse_log (filter_id, id);
CREATE INDEX abuse_log_performer ON abuse_log (performer, id);
CREATE INDEX abuse_log_page ON abuse_log (page_title, page_namespace, id);
CREATE INDEX abuse_log_time ON abuse_log (created_at);

CREATE TABLE abuse_log_protected (
	log_id     BIGINT PRIMARY KEY REFERENCES abuse_log (id),
	ip         TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	vars       TEXT NOT NULL
);

CREATE TABLE blocks (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	wiki        TEXT NOT NULL,
	target      TEXT NOT NULL,
	expiry      BIGINT NOT NULL,
	reason      TEXT NOT NULL,
	filter_id   BIGINT NOT NULL,
	talk_access BOOLEAN NOT NULL,
	created_at  BIGINT NOT NULL,
	UNIQUE (wiki, target)
);

CREATE TABLE tokens (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	hash       BYTEA NOT NULL UNIQUE,
	scopes     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked    BOOLEAN NOT NULL
);

CREATE TABLE audit (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at BIGINT NOT NULL,
	token      TEXT NOT NULL,
	access     TEXT NOT NULL,
	resource   TEXT NOT NULL,
	reason     TEXT NOT NULL
);

CREATE TABLE recent_actions (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	wiki       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	payload    BYTEA NOT NULL
);
CREATE INDEX recent_actions_wiki ON recent_actions (wiki, id);
CREATE INDEX recent_actions_time ON recent_actions (created_at);

CREATE TABLE filter_stats (
	filter_id     BIGINT PRIMARY KEY,
	checked       BIGINT NOT NULL,
	matches       BIGINT NOT NULL,
	total_time_ns BIGINT NOT NULL,
	conditions    BIGINT NOT NULL,
	overflows     BIGINT NOT NULL,
	errors        BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
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
