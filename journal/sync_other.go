//go:build !linux

package journal

import "os"

// syncData is a full sync where fdatasync is not to be had (on macOS,
// os.File.Sync asks the drive itself to flush, F_FULLFSYNC).
func syncData(f *os.File) error { return f.Sync() }
