package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/prefilter"
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

// TestLiteralsOfCopies checks that a subject differing from one scanned
// before only in the case of ASCII letters gets that one's literals, and
// that those are what its own scan finds; subjects differing otherwise (a
// letter, a non-letter whose bit 0x20 differs, a non-ASCII case) are
// scanned for themselves.
func TestLiteralsOfCopies(t *testing.T) {
	index := prefilter.New([]string{"CASINO", "[HTTP", "É", "ÉTÉ", "@X", "`X", "{{CITE", "ITE|", "ITE\\"})
	base := "Best [http://casino.example] {{cite|x}} été @x"
	variants := []struct {
		s    string
		same bool // the same up to ASCII case
	}{
		{strings.Clone(base), true},
		{strings.ToLower(base), true},
		{strings.ToUpper(base[:38]) + base[38:], true},
		{"BEST [HTTP://CASINO.EXAMPLE] {{CITE|X}} été @X", true},
		{"Best [http://casinx.example] {{cite|x}} été @x", false},  // a letter
		{"Best [http://casino.example] {{cite\\x}} été @x", false}, // | and \ differ by 0x20, not letters
		{"Best [http://casino.example] {{cite|x}} été `x", false},  // @ and `
		{"Best [http://casino.example] {{cite|x}} ÉTÉ @x", false},  // not ASCII
	}
	for _, v := range variants {
		if got := sameUpToASCIICase(base, v.s); got != v.same {
			t.Errorf("sameUpToASCIICase(%q) = %v, want %v", v.s, got, v.same)
		}
	}
	var p prefilterState
	p.reset(index)
	p.literals(p.subject(base))
	for _, v := range variants {
		got := p.literals(p.subject(v.s))
		want := make(prefilter.Set, index.Words())
		index.Scan(v.s, want)
		if !slices.Equal(got, want) {
			t.Errorf("literals(%q) = %b, its scan finds %b", v.s, got, want)
		}
		if shared := &got[0] == &p.literals(p.subject(base))[0]; shared != v.same {
			t.Errorf("literals(%q) shares base's set: %v, want %v", v.s, shared, v.same)
		}
	}
}

// TestSubjectTable checks the per-action table of subjects: every subject
// of an action keeps what was learnt of it (literals scanned once, UTF-8
// checked once, one folded form) however many there are, through the
// table's growth and its starting over at its bound, and nothing carries
// into the next action (no string is kept alive), even when the
// generation wraps.
func TestSubjectTable(t *testing.T) {
	index := prefilter.New([]string{"AB", "CD"})
	var p prefilterState
	for _, n := range []int{1, 40, 700, 7000} {
		p.reset(index)
		subjects := make([]string, n)
		for i := range subjects {
			subjects[i] = fmt.Sprintf("s%d ab x%dcd", i, i%3) // distinct, and not copies up to case
		}
		for round := range 2 {
			for i, s := range subjects {
				found := p.literals(p.subject(s))
				if !found.Has(0) || !found.Has(1) {
					t.Fatalf("%d subjects, round %d: literals(%q) = %b", n, round, s, found)
				}
				if _, ok := p.validUTF8(s); !ok {
					t.Fatalf("%q not valid", s)
				}
				if e := p.subject(s); n <= maxSubjectSlots*3/4 && (!e.valid || e.found == nil) {
					t.Fatalf("%d subjects: %q's entry lost what was learnt: %+v", n, s, e)
				}
				if f := p.fold(subjects[i]); f != pcre.FoldString(s) {
					t.Fatalf("fold(%q) = %q", s, f)
				}
			}
		}
		// Scanned once each while the table holds them all; past its
		// bound it starts over, and forgets.
		if n <= maxSubjectSlots*3/4 && len(p.scans) != n || len(p.scans) < n {
			t.Errorf("%d subjects: %d scans", n, len(p.scans))
		}
		if n <= 48 && len(p.subjects) != subjectSlots || len(p.subjects) > maxSubjectSlots {
			t.Errorf("%d subjects: a table of %d", n, len(p.subjects))
		}
	}
	// A new action keeps none of the last one's strings alive.
	p.reset(index)
	for i, e := range p.subjects {
		if e.src != "" || e.folded != "" || e.found != nil {
			t.Fatalf("entry %d still holds %.20q after the reset", i, e.src)
		}
	}
	for _, sc := range p.scans[:cap(p.scans)] {
		if sc.src != "" {
			t.Fatalf("the scans still hold %.20q after the reset", sc.src)
		}
	}
	// Nothing carries into the next action.
	s := "carried ab"
	p.literals(p.subject(s))
	p.gen = math.MaxUint32 - 1
	p.reset(index)
	p.validUTF8(s)
	p.reset(index) // wraps
	if p.gen != 1 {
		t.Errorf("generation after wrapping: %d", p.gen)
	}
	if e := p.subject(s); e.valid || e.found != nil || e.hasFold {
		t.Errorf("a new action knows %+v", e)
	}
}
