package pcre

import (
	"testing"
	"unsafe"
)

// TestRegexpLayout: what MatchValid reads on its common path lies in the
// first 64 bytes of a Regexp, and its size is a multiple of 64, so that
// the allocator puts every Regexp at the start of a cache line.
func TestRegexpLayout(t *testing.T) {
	var re Regexp
	if size := unsafe.Sizeof(re); size%64 != 0 {
		t.Errorf("a Regexp is %d bytes, not a multiple of 64: adjust its padding", size)
	}
	hot := []struct {
		name      string
		off, size uintptr
	}{
		{"dfaOnce", unsafe.Offsetof(re.dfaOnce), unsafe.Sizeof(re.dfaOnce)},
		{"anchored", unsafe.Offsetof(re.anchored), 1},
		{"exactFold", unsafe.Offsetof(re.exactFold), 1},
		{"dfa", unsafe.Offsetof(re.dfa), unsafe.Sizeof(re.dfa)},
		{"minLen", unsafe.Offsetof(re.minLen), unsafe.Sizeof(re.minLen)},
		{"exactSet", unsafe.Offsetof(re.exactSet), unsafe.Sizeof(re.exactSet)},
		{"unit", unsafe.Offsetof(re.unit), unsafe.Sizeof(re.unit)},
	}
	for _, f := range hot {
		if f.off+f.size > 64 {
			t.Errorf("%s ends at byte %d of a Regexp, beyond its first cache line", f.name, f.off+f.size)
		}
	}
}
