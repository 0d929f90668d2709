package jsonstr

import (
	"math/rand/v2"
	"testing"
)

// reference is IndexStop byte by byte.
func reference(b []byte, nonASCII bool) int {
	for i, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || nonASCII && c >= 0x80 {
			return i
		}
	}
	return len(b)
}

// TestIndexStop: the 32-byte blocks, the 8-byte words and the tail agree
// with a byte-by-byte search, for a stop of each kind at every place of
// texts up to 200 bytes (none, one, several), with and without non-ASCII
// stops, and with the blocks off.
func TestIndexStop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	plain := []byte("abc xyz 0129 ~}|{[]=:;-_!#$%&'()*+,./<>?@`^ ")
	stops := []byte{'"', '\\', 0, 0x1f, '\n', '\t', 0x80, 0xc3, 0xff}
	for _, blocks := range []bool{true, false} {
		saved := useAVX2
		useAVX2 = useAVX2 && blocks
		for n := range 200 {
			b := make([]byte, n)
			for i := range b {
				b[i] = plain[r.IntN(len(plain))]
			}
			for at := -1; at < n; at++ {
				c := make([]byte, n)
				copy(c, b)
				if at >= 0 {
					c[at] = stops[r.IntN(len(stops))]
					if r.IntN(3) == 0 && at+1 < n { // a second stop after it
						c[at+1+r.IntN(n-at-1)] = stops[r.IntN(len(stops))]
					}
				}
				if got, want := IndexStop(c), reference(c, false); got != want {
					t.Fatalf("blocks %v: IndexStop(%q) = %d, want %d", blocks, c, got, want)
				}
				if got, want := IndexStopOrNonASCII(string(c)), reference(c, true); got != want {
					t.Fatalf("blocks %v: IndexStopOrNonASCII(%q) = %d, want %d", blocks, c, got, want)
				}
				if got, want := IndexStopString(string(c)), reference(c, false); got != want {
					t.Fatalf("blocks %v: IndexStopString(%q) = %d, want %d", blocks, c, got, want)
				}
			}
		}
		useAVX2 = saved
	}
}

func FuzzIndexStop(f *testing.F) {
	f.Add([]byte("plain text of some length, more than thirty-two bytes \"quoted\""))
	f.Add([]byte("line one\nline two\\n \xc3\xa9"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := IndexStop(b), reference(b, false); got != want {
			t.Fatalf("IndexStop(%q) = %d, want %d", b, got, want)
		}
		if got, want := IndexStopOrNonASCII(string(b)), reference(b, true); got != want {
			t.Fatalf("IndexStopOrNonASCII(%q) = %d, want %d", b, got, want)
		}
		if got, want := IndexStopString(string(b)), reference(b, false); got != want {
			t.Fatalf("IndexStopString(%q) = %d, want %d", b, got, want)
		}
	})
}

func BenchmarkIndexStop(b *testing.B) {
	// Wikitext-like lines of about 90 bytes, each ending with a newline
	// (a stop), as in a request body's wikitext between escapes.
	line := []byte("The [[city]] council, founded in 1820, was led by [[Carl Mueller|Mueller]] for a decade.\n")
	text := make([]byte, 0, 32<<10)
	for len(text)+len(line) <= cap(text) {
		text = append(text, line...)
	}
	for _, blocks := range []bool{true, false} {
		name := "words"
		if blocks {
			name = "blocks"
		}
		b.Run(name, func(b *testing.B) {
			saved := useAVX2
			useAVX2 = useAVX2 && blocks
			defer func() { useAVX2 = saved }()
			for b.Loop() {
				for i := 0; i < len(text); {
					i += IndexStop(text[i:]) + 1
				}
			}
		})
	}
}
