package prefilter

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules/pcre"
)

// TestScanFindsExactlyTheLiterals compares Scan with strings.Contains on
// the folded text, for random literals and texts over a small alphabet
// (so that literals overlap and share prefixes and suffixes).
func TestScanFindsExactlyTheLiterals(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "B", "c", "é", "É", "ß", " ", "K", "\u212a", "1", "{{", "ﬃ"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 200 {
		var lits []string
		seen := map[string]bool{}
		for range 1 + r.IntN(40) {
			l := pcre.FoldString(word(1 + r.IntN(5)))
			if !seen[l] {
				seen[l] = true
				lits = append(lits, l)
			}
		}
		if round == 0 {
			lits = append(lits, strings.Repeat("AB", 30)) // longer than maxLiteral
		}
		ix := New(lits)
		for range 20 {
			text := word(r.IntN(60))
			if round == 0 {
				text += strings.Repeat("ab", 17)
			}
			found := make(Set, ix.Words())
			ix.Scan(text, found)
			folded := pcre.FoldString(text)
			for id, l := range lits {
				want := strings.Contains(folded, l)
				if len(l) > maxLiteral {
					want = strings.Contains(folded, l[:maxLiteral])
				}
				if got := found.Has(int32(id)); got != want {
					t.Fatalf("literal %q in %q (folded %q): found %v, want %v", l, text, folded, got, want)
				}
			}
		}
	}
}

func BenchmarkScan(b *testing.B) {
	var lits []string
	for _, w := range strings.Fields("casino viagra poker {{db- [[category: http:// www. porn fuck shit bitch whore nigger penis vagina sex dick cock") {
		lits = append(lits, pcre.FoldString(w))
	}
	ix := New(lits)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, see http://example.com. ", 4)
	found := make(Set, ix.Words())
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		ix.Scan(text, found)
	}
}

// TestStateNumbers checks the exact division that turns a premultiplied
// state offset back into its number, for every possible class count.
func TestStateNumbers(t *testing.T) {
	for classes := 1; classes <= 256; classes++ {
		lits := make([]string, 0, classes-1)
		for c := 1; c < classes; c++ {
			lits = append(lits, string([]byte{byte(c), byte(c)}))
		}
		if len(lits) == 0 {
			continue // a literal index needs a literal
		}
		ix2 := New(lits)
		if ix2.classes != classes {
			t.Fatalf("%d literals of distinct bytes gave %d classes, want %d", len(lits), ix2.classes, classes)
		}
		for _, k := range []uint32{0, 1, 2, 77, 1000, 5540, 1 << 16, 1<<24 - 1} {
			st := k * uint32(classes)
			if st/uint32(classes) != k || st > 1<<31-1 {
				continue // not a reachable offset
			}
			if got := st >> ix2.divShift * ix2.divInv; got != k {
				t.Fatalf("classes %d: state at offset %d is number %d, want %d", classes, st, got, k)
			}
		}
	}
}
