// Package jsonstr holds what the hand-written JSON string scanners (the
// request decoder's and the variable dump's) share: finding the bytes a
// JSON string cannot hold as they are, 32 bytes at a time with AVX2 and 8
// at a time otherwise.
package jsonstr

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stops marks with their high bit the bytes of x (8 bytes, little-endian)
// that a JSON string cannot hold as they are: control characters, the
// quote and the backslash. The lowest mark is exact; marks above it may
// be false (borrows), which only costs the caller a look.
func stops(x uint64) uint64 {
	ctl := (x - 0x20*lows) &^ x
	q := x ^ '"'*lows
	bs := x ^ '\\'*lows
	return (ctl | (q-lows)&^q | (bs-lows)&^bs) & highs
}

// nonASCIIMarks marks the bytes of x at or above 0x80 with their high bit.
func nonASCIIMarks(x uint64) uint64 { return x & highs }
