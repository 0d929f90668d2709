package rules

import (
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules/pcre"
)

// TestFoldBuffer checks the per-action folding buffer: every subject
// folded in an action keeps its folded form while others are folded after
// it (the buffer grows and moves), and the next action's folds are right
// too although they write over the last one's.
func TestFoldBuffer(t *testing.T) {
	var p prefilterState
	actions := [][]string{
		{"Hello World", strings.Repeat("Living people É ", 500), "already FOLDED", "ǅ mixed Σ case"},
		{"second ACTION text", strings.Repeat("wikitext ", 3000), "x"},
	}
	for _, subjects := range actions {
		p.reset(nil)
		var got []string
		for _, s := range subjects {
			got = append(got, p.fold(s))
		}
		for i, s := range subjects {
			if want := pcre.FoldString(s); got[i] != want {
				t.Errorf("fold(%.20q) = %.20q after folding the others, want %.20q", s, got[i], want)
			}
			if again := p.fold(s); again != got[i] {
				t.Errorf("fold(%.20q) again = %.20q", s, again)
			}
		}
	}
}

// TestFoldBufferBound: an action that folds more than maxFoldBuf bytes
// folds the rest apart, correctly, and the buffer stays bounded.
func TestFoldBufferBound(t *testing.T) {
	var p prefilterState
	p.reset(nil)
	page := strings.Repeat("Living People É ", 100<<10/17)
	for i := range 3 * maxFoldBuf / len(page) {
		s := page + strings.Repeat("x", i) // distinct subjects
		if got, want := p.fold(s), pcre.FoldString(s); got != want {
			t.Fatalf("fold of subject %d is wrong", i)
		}
		if len(p.foldBuf) > maxFoldBuf {
			t.Fatalf("after %d folds the buffer holds %d bytes, more than %d", i+1, len(p.foldBuf), maxFoldBuf)
		}
	}
}
