//go:build !amd64

package pcre

var pairAVX2 = false // a variable, as on amd64, for the tests

func pairScanAVX2(a *byte, d, n int, c1, c2 byte) (at int, mask uint32) {
	panic("pcre: no AVX2 here")
}
