package sqlite

import (
	"os"
	"syscall"
)

// fdatasync: the WAL's data and size, without its times (a sync of those
// would write the file system's journal at every commit).
var fdatasync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
