package jsonstr

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestStops: the lowest mark is the first stopping byte, and no stopping
// byte goes unmarked.
func TestStops(t *testing.T) {
	stop := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{0, 0x1f, 0x20, '!', '"', '#', '[', '\\', ']', 'a', 0x7f, 0x80, 0xc3, 0xff}
	for range 200000 {
		var b [8]byte
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		m := stops(binary.LittleEndian.Uint64(b[:]))
		first := -1
		for i, c := range b {
			if stop(c) {
				first = i
				break
			}
		}
		switch {
		case first < 0 && m != 0:
			t.Fatalf("%q: marked %#x, but no byte stops", b, m)
		case first >= 0 && bits.TrailingZeros64(m)>>3 != first:
			t.Fatalf("%q: lowest mark at byte %d, want %d", b, bits.TrailingZeros64(m)>>3, first)
		}
	}
}
