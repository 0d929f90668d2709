//go:build !amd64

package jsonstr

const useAVX2 = false

func indexAVX2(p *byte, n int, nonASCII uint32) int { panic("jsonstr: no AVX2 here") }
