//go:build !unix

package journal

import (
	"fmt"
	"os"
	"path/filepath"
)

func syncData(f *os.File) error { return f.Sync() }

// syncDir: directories cannot be synced here; the file system keeps new
// names durable on its own (NTFS journals its metadata).
func syncDir(string) error { return nil }

// lockDir holds dir's LOCK file open; without advisory locks, a second
// process is not kept out.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) { f.Close() }
