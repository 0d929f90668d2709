// Package asciiword handles text eight bytes at a time while it is ASCII:
// wikitext mostly is, and pages are tens of KB.
package asciiword

const (
	ones  = 0x0101010101010101
	highs = 0x80 * ones
)

// Load reads the first 8 bytes of s, little-endian.
func Load(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// IsASCII reports whether all 8 bytes of w are ASCII.
func IsASCII(w uint64) bool { return w&highs == 0 }

// FlipCase toggles the case bit (0x20) of each byte of w, all ASCII, that
// lies in first..first+25: FlipCase(w, 'A') lower-cases, FlipCase(w, 'a')
// upper-cases.
func FlipCase(w uint64, first byte) uint64 {
	// A byte plus 0x80-first has its high bit set when it is >= first;
	// plus 0x80-first-26 when it is past the range. Bytes are below 0x80,
	// so no sum carries into the next byte.
	atLeast := w + (0x80-uint64(first))*ones
	past := w + (0x80-uint64(first)-26)*ones
	return w ^ (atLeast&^past&highs)>>2
}
