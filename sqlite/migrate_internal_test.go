package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/vigilwiki/vigil/storetest"
)

// TestProtectedTimeBackfilled: a database from before migration 00006 has
// protected rows without their time; the migration copies it from their
// entries, so that a purge after the upgrade finds the old ones.
func TestProtectedTimeBackfilled(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for id, at := range storetest.BackfillEntries {
		if _, err := db.ExecContext(ctx, `INSERT INTO abuse_log (id, wiki, filter_id, filter_version, action, performer,
			page_namespace, page_title, actions_taken, log_only, vars, created_at) VALUES (?, 'enwiki', 1, 1, 'edit', 'X', 0, 'P', '||', 0, '{}', ?)`,
			id, at.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO abuse_log_protected (log_id, ip, user_agent, vars) VALUES (?, '192.0.2.1', 'ua', '{}')`, id); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckBackfilled(t, s)
}
