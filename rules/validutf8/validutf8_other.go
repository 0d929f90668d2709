//go:build !amd64

package validutf8

var useAVX2 = false // a variable, as on amd64, for the tests

func validAVX2(p *byte, n int) bool { panic("validutf8: no AVX2 here") }
