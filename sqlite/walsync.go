//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
)

// externalWALSync: on this system the writer commits without syncing and
// walSync syncs the WAL after each write (see open).
const externalWALSync = true

// walSync makes what the writer has committed durable by syncing the WAL,
// where SQLite's commits go. The writer commits with synchronous(NORMAL),
// which writes the WAL without syncing it; the store calls this after
// each commit, before it returns, so a write is as durable as with
// synchronous(FULL), but the sync happens after SQLite's write lock is
// released: the next transaction (the abuse log's next batch) need not
// wait for this one's disk sync, and syncs of concurrent batches overlap.
// SQLite still syncs the WAL's header when it starts the file (and, the
// first time, its directory), and the WAL before and the database after
// each checkpoint that reaches the WAL's end (the WAL is only reused
// after one).
type walSync struct {
	path   string // the WAL's path, as SQLite names it
	closed atomic.Bool
}

// newWALSync syncs the WAL of the database SQLite has open at dbPath (its
// resolved path: SQLite puts the WAL beside a symbolic link's target).
func newWALSync(dbPath string) *walSync { return &walSync{path: dbPath + "-wal"} }

// sync syncs the WAL as it is now: everything committed before the call
// is on disk when it returns. Calls may overlap. Each opens the file
// anew: Linux reports a failed write-back once to each open file, so with
// one file shared by overlapping syncs, the error about one batch's pages
// could go to another's call and the first be acknowledged; a file opened
// after the commit hears of every failure since.
func (w *walSync) sync() error {
	if w.closed.Load() {
		return fmt.Errorf("sync %s: the store is closed", w.path)
	}
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sync %s: SQLite has no WAL open", w.path)
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	err = fdatasync(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

func (w *walSync) close() error {
	w.closed.Store(true)
	return nil
}
