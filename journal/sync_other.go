//go:build !unix

package journal

import "os"

func syncData(f *os.File) error { return f.Sync() }
