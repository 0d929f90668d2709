package pcre

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestContainsRare: Contains agrees with strings.Contains on long subjects: needles
// at the start, the end, across the fallback to strings.Index, absent,
// and with their rare byte common in the subject.
func TestContainsRare(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabets := []string{"ab", "abc ", "aaaaaaaaab", "etaoin :vqz", "xyz"}
	for range 3000 {
		alpha := alphabets[r.IntN(len(alphabets))]
		subject := make([]byte, 1024+r.IntN(3000))
		for i := range subject {
			subject[i] = alpha[r.IntN(len(alpha))]
		}
		s := string(subject)
		var sub string
		switch r.IntN(4) {
		case 0: // taken from the subject, anywhere
			at := r.IntN(len(s) - 16)
			sub = s[at : at+1+r.IntN(16)]
		case 1: // its very end
			sub = s[len(s)-1-r.IntN(12):]
		case 2: // its very start
			sub = s[:1+r.IntN(12)]
		default: // random, usually absent
			b := make([]byte, 1+r.IntN(8))
			for i := range b {
				b[i] = alpha[r.IntN(len(alpha))]
			}
			sub = string(b)
		}
		if got, want := Contains(s, sub), strings.Contains(s, sub); got != want {
			t.Fatalf("Contains(%d bytes, %q) = %v, want %v", len(s), sub, got, want)
		}
	}
}

// TestContainsRareFallback: a needle after many false candidates is found
// wherever the search hands over to strings.Index.
func TestContainsRareFallback(t *testing.T) {
	for n := range 200 {
		s := strings.Repeat("b", n) + "ab" + strings.Repeat("c", 1100)
		if !Contains(s, "ab") {
			t.Fatalf("%q not found after %d b's", "ab", n)
		}
	}
}

func TestRareOffset(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
	}{
		{"category:living people", 8}, // the colon
		{"{{disambig|", 0},            // a brace
		{"e", 0},
		{"Müller", 1}, // non-ASCII ranks rarest
	} {
		if got := rareOffset(tt.s); got != tt.want {
			t.Errorf("rareOffset(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func BenchmarkContainsRare(b *testing.B) {
	// A 30 KB page of wikitext-like prose without the needles, and the
	// five spellings of "Category:Living people" real filters look for.
	page := strings.Repeat("The [[city]] council, founded in 1820, was led by [[Carl Müller|Müller]] for a decade.<ref>{{cite book|title=Chronicle}}</ref>\n", 240)
	set := []string{"CATEGORY:LIVING PEOPLE", "category:living people", "category:Living people", "Category:Living people", "Category:living people"}
	b.Run("strings.Contains", func(b *testing.B) {
		for b.Loop() {
			for _, s := range set {
				strings.Contains(page, s)
			}
		}
	})
	b.Run("Contains", func(b *testing.B) {
		for b.Loop() {
			for _, s := range set {
				Contains(page, s)
			}
		}
	})
}
