package textfunc

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestCaseASCII: on ASCII text, mb_strtolower and mb_strtoupper are the
// ASCII mappings, which strings.ToLower and ToUpper implement
// independently. Random texts of every length up to 40 over the bytes
// around the letters' edges ('@' 'A' 'Z' '[' '`' 'a' 'z' '{') exercise
// the eight-byte words and the tail; a text already in the target case
// must come back as the same string, not a copy.
func TestCaseASCII(t *testing.T) {
	alphabet := "@AZ[`az{ 0~\x7f\x00MmQq"
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		for range 200 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			s := string(b)
			if got, want := Lower(s), strings.ToLower(s); got != want {
				t.Fatalf("Lower(%q) = %q, want %q", s, got, want)
			}
			if got, want := Upper(s), strings.ToUpper(s); got != want {
				t.Fatalf("Upper(%q) = %q, want %q", s, got, want)
			}
			for _, f := range []func(string) string{Lower, Upper} {
				done := f(s)
				if again := f(done); n > 0 && unsafe.StringData(again) != unsafe.StringData(done) {
					t.Fatalf("mapping %q, already mapped, made a copy", done)
				}
			}
		}
	}
}
