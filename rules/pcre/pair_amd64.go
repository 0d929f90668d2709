package pcre

import "golang.org/x/sys/cpu"

var pairAVX2 = cpu.X86.HasAVX2

// pairScanAVX2 looks at the whole 32-byte blocks of the n positions from
// a: position i is a candidate when a[i] == c1 and a[i+d] == c2. It
// returns the offset of the first block that holds a candidate, with its
// candidates as bits (bit k for position at+k), or n&^31 and 0 when no
// block holds one. The caller makes sure that a[(n&^31)-1+d] may be read.
//
//go:noescape
func pairScanAVX2(a *byte, d, n int, c1, c2 byte) (at int, mask uint32)
