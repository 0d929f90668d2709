//go:build !amd64

package jsonstr

var useAVX2 = false // a variable, as on amd64, for the tests

func indexAVX2(p *byte, n int, nonASCII uint32) int { panic("jsonstr: no AVX2 here") }
