//go:build unix && !linux

package sqlite

import "os"

var fdatasync = func(f *os.File) error { return f.Sync() }
