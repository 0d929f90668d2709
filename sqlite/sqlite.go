// Package sqlite opens Vigil's store in a SQLite database file: the
// embedded default, one process, no server. It uses modernc.org/sqlite
// (pure Go). SQLite allows one writer at a time, so writes go through a
// single connection while reads use a pool; the database runs in WAL mode
// so that readers never wait for the writer, with a busy timeout for the
// rare case where another process (a CLI) writes too.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/vigilwiki/vigil/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating it if needed) the database file at path, applies
// the migrations, and returns the store. The abuse log's variable dumps go
// to files in the directory path+"-dumps" (see sqlstore.UseDumpFiles),
// which belongs to the database as its WAL does.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s, err := open(ctx, abs, "FULL")
	if err != nil {
		return nil, err
	}
	s.UseDumpFiles(abs + "-dumps")
	return s, nil
}

// OpenWindow opens a database for the window of recent actions only. It
// is a sample for testing filters, not a record: it lives in a file of its
// own so that its bulk writes never queue ahead of abuse-log commits on
// the main file's single writer, and it does not sync every commit
// (synchronous(NORMAL): a power cut may lose its last seconds).
func OpenWindow(ctx context.Context, path string) (*sqlstore.Store, error) {
	return open(ctx, path, "NORMAL")
}

func open(ctx context.Context, path, synchronous string) (*sqlstore.Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	params := url.Values{}
	// synchronous(FULL): a commit is on disk before it returns, even
	// through a power cut; concurrent writes share syncs (see
	// screen.committer).
	// wal_autocheckpoint: see checkpointer; the higher threshold is only a
	// bound on the WAL's size should the checkpointer fall behind.
	// secure_delete(ON): deleted rows are overwritten with zeros, not only
	// unlinked, so that protected data purged (or pruned from the recent
	// window) does not linger in the file.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(ON)", "synchronous(" + synchronous + ")",
		fmt.Sprintf("wal_autocheckpoint(%d)", walBound), "secure_delete(ON)"} {
		params.Add("_pragma", p)
	}
	dsn := "file:" + abs + "?" + params.Encode()
	rw, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1)
	ro, err := sql.Open("sqlite", dsn)
	if err != nil {
		rw.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	ro.SetMaxOpenConns(8)
	if err := migrate(ctx, rw); err != nil {
		rw.Close()
		ro.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	store := sqlstore.New(rw, ro, Dialect)
	store.OnClose(startCheckpointer(ro))
	return store, nil
}

// SQLite's automatic checkpoint runs inside the commit that crosses the
// threshold (1,000 pages, a few hundred abuse-log commits): that commit
// copies the WAL into the database and syncs it. A goroutine checkpoints
// instead, on a connection of the read pool, without blocking the writer
// (PASSIVE). When abuse-log entries were SQLite commits in the requests'
// path, checkpoints every 25 ms kept each sync short and the p99 lower
// than every 250 ms did (3.7-4.1 against 4.8-4.9 ms at 1,000 requests/s).
// Since the entries go through the journal (sqlstore), SQLite commits in
// batches off that path, and every 250 ms costs less CPU for the same or a
// lower p99: 623 against 648 µs of server CPU per action, p99 5.65 against
// 5.82 ms (`RATE=1000 scripts/screen-side-by-side 4 60s`, twenty-fifth
// session in docs/performance.md).
const (
	checkpointEvery = 250 * time.Millisecond
	walBound        = 16000 // pages (64 MB): SQLite checkpoints itself beyond that
)

// startCheckpointer checkpoints db's WAL periodically until the returned
// function is called, which stops it (and may be called again).
func startCheckpointer(db *sql.DB) (stop func() error) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				// A failure (the database busy or gone) is retried at the
				// next tick; walBound keeps the WAL bounded meanwhile.
				_, _ = db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}()
	var once sync.Once
	return func() error {
		// Store.Close may be called more than once, as sql.DB.Close may.
		once.Do(func() { close(quit) })
		<-done
		return nil
	}
}

// Dialect is SQLite's.
var Dialect = sqlstore.Dialect{
	Name: "sqlite",
	// The WAL may keep old frames of a page (its content before the
	// delete) until it is written over; emptying it after a purge leaves
	// deleted protected data only where secure_delete zeroed it.
	Scrub: "PRAGMA wal_checkpoint(TRUNCATE)",
	IsConflict: func(err error) bool {
		var e *sqlite3.Error
		return errors.As(err, &e) && (e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsUnavailable: func(err error) bool {
		var e *sqlite3.Error
		if errors.As(err, &e) {
			switch e.Code() & 0xff {
			case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_FULL,
				sqlite3lib.SQLITE_CANTOPEN:
				return true
			}
		}
		return strings.Contains(err.Error(), "database is closed")
	},
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}
