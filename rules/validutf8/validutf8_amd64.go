package validutf8

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

// validAVX2 reports whether the n bytes at p (a multiple of 32) hold no
// error of UTF-8, leaving out a character cut short by their end.
//
//go:noescape
func validAVX2(p *byte, n int) bool
