package asciiword

import (
	"encoding/binary"
	"testing"
)

// TestFlipCase compares every ASCII byte, at every position of a word,
// with the byte-by-byte case mapping.
func TestFlipCase(t *testing.T) {
	for _, first := range []byte{'A', 'a'} {
		for c := range byte(0x80) {
			for pos := range 8 {
				var in [8]byte
				for i := range in {
					in[i] = byte('@' + i) // neighbours inside and outside the ranges
				}
				in[pos] = c
				w := Load(string(in[:]))
				if w != binary.LittleEndian.Uint64(in[:]) || !IsASCII(w) {
					t.Fatalf("Load(%q) = %#x", in, w)
				}
				var out [8]byte
				binary.LittleEndian.PutUint64(out[:], FlipCase(w, first))
				for i, b := range in {
					want := b
					if b >= first && b <= first+25 {
						want ^= 0x20
					}
					if out[i] != want {
						t.Fatalf("FlipCase(%q, %q) byte %d = %q, want %q", in, first, i, out[i], want)
					}
				}
			}
		}
	}
	if IsASCII(Load("abcdefg\x80")) {
		t.Error("IsASCII missed a high byte")
	}
}
