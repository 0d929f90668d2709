package jsonstr

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

// indexAVX2 looks at the whole 32-byte blocks of the n bytes at p and
// returns the index of the first stop in them (a non-ASCII byte too when
// nonASCII is all ones), or n&^31 when they have none.
//
//go:noescape
func indexAVX2(p *byte, n int, nonASCII uint32) int
