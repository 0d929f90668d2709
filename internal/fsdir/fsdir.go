// Package fsdir holds what Vigil's append-only stores (the abuse log's
// journal and its dump files) need of a directory: an exclusive lock for
// one process, and a sync that makes new names in it durable.
package fsdir

import "errors"

// ErrLocked says another process holds the directory's lock.
var ErrLocked = errors.New("another process holds the lock")
