//go:build !unix

package sqlite

// externalWALSync: elsewhere the writer syncs its own commits
// (synchronous(FULL)); walSync is not used.
const externalWALSync = false

type walSync struct{}

func newWALSync(string) *walSync { return &walSync{} }
func (*walSync) sync() error     { return nil }
func (*walSync) close() error    { return nil }
