package jsonstr

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// IndexStop returns the index of the first byte of b that a JSON string
// cannot hold as it is (a control character, the quote, the backslash), or
// len(b) when there is none. On amd64 with AVX2 it looks at 32 bytes at a
// time: a wikitext has such a byte about every 90 bytes (each line's
// escaped newline), and the request decoder spent 6 % of the service's CPU
// in the 8-byte loop.
func IndexStop(b []byte) int {
	return index(unsafe.SliceData(b), len(b), false)
}

// IndexStopOrNonASCII is IndexStop for a string that also stops at bytes
// at or above 0x80 (which the dump's encoder must look at).
func IndexStopOrNonASCII(s string) int {
	return index(unsafe.StringData(s), len(s), true)
}

// IndexStopString is IndexStop for a string.
func IndexStopString(s string) int {
	return index(unsafe.StringData(s), len(s), false)
}

func index(p *byte, n int, nonASCII bool) int {
	i := 0
	if useAVX2 && n >= 32 {
		var mask uint32
		if nonASCII {
			mask = ^uint32(0)
		}
		i = indexAVX2(p, n, mask)
		if i < n&^31 {
			return i
		}
	}
	b := unsafe.Slice(p, n)
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		m := stops(x)
		if nonASCII {
			m |= nonASCIIMarks(x)
		}
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < n; i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || nonASCII && c >= 0x80 {
			return i
		}
	}
	return n
}
