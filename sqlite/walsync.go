//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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
// SQLite still syncs the WAL's header when it starts the file over, and
// the WAL before and the database after each checkpoint that reaches the
// WAL's end (the WAL is only reused after one).
type walSync struct {
	path   string       // the WAL's path, as SQLite names it
	mu     sync.RWMutex // held for reading while f is synced, for writing while it is replaced
	f      *os.File
	closed bool
}

// newWALSync syncs the WAL of the database SQLite has open at dbPath (its
// resolved path: SQLite puts the WAL beside a symbolic link's target).
func newWALSync(dbPath string) *walSync { return &walSync{path: dbPath + "-wal"} }

// sync syncs the WAL as it is now: everything committed before the call
// is on disk when it returns. Calls may overlap.
func (w *walSync) sync() error {
	w.mu.RLock()
	if w.f != nil && !deleted(w.f) {
		err := fdatasync(w.f)
		w.mu.RUnlock()
		return w.wrap(err)
	}
	w.mu.RUnlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.reopen(); err != nil {
		return err
	}
	return w.wrap(fdatasync(w.f))
}

func (w *walSync) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

func deleted(f *os.File) bool {
	var st syscall.Stat_t
	return syscall.Fstat(int(f.Fd()), &st) != nil || st.Nlink == 0
}

// reopen opens the WAL unless it is open already. SQLite deletes the WAL
// when its last connection closes and makes a new one with the next: a
// file deleted since it was opened is opened again, and its directory
// synced so that the new file's name is durable too (where the file
// system can sync a directory; SQLite, which created the file, tries too).
func (w *walSync) reopen() error {
	if w.closed {
		return fmt.Errorf("sync %s: the store is closed", w.path)
	}
	if w.f != nil {
		if !deleted(w.f) {
			return nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sync %s: SQLite has no WAL open", w.path)
	}
	if err != nil {
		return w.wrap(err)
	}
	if dir, err := os.Open(filepath.Dir(w.path)); err == nil {
		err = dir.Sync()
		dir.Close()
		if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
			f.Close()
			return fmt.Errorf("sync the directory of %s: %w", w.path, err)
		}
	}
	w.f = f
	return nil
}

func (w *walSync) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
