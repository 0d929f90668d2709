//go:build !unix

package fsdir

import (
	"os"
	"path/filepath"
)

// Lock holds dir's LOCK file open; without advisory locks, a second
// process is not kept out.
func Lock(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
}

// Unlock releases a lock that Lock took.
func Unlock(f *os.File) { f.Close() }

// Sync: directories cannot be synced here; the file system keeps new
// names durable on its own (NTFS journals its metadata).
func Sync(string) error { return nil }
