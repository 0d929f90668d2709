package rules

import (
	"strings"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/pcre"
)

// The literal prefilter: a regex whose required literals (see
// pcre.Literals) are all absent from the subject cannot match, so it is
// decided without running. This never changes a result or a condition
// count, only how fast a false comes.

// minLiteral is the shortest literal worth checking: one-byte literals
// occur in nearly every text.
const minLiteral = 2

// literalSet is the literals of one regex site.
type literalSet struct {
	lits []string
	fold bool
}

func newLiteralSet(l pcre.Literals) literalSet {
	for _, s := range l.Any {
		if len(s) < minLiteral {
			return literalSet{}
		}
	}
	return literalSet{lits: l.Any, fold: l.Fold}
}

func (ls *literalSet) empty() bool { return len(ls.lits) == 0 }

// prefilterState remembers, per action, the case-folded form of the
// subjects it has seen.
type prefilterState struct {
	folded [8]foldMemo
}

type foldMemo struct {
	src, folded string
}

func (p *prefilterState) reset() { p.folded = [8]foldMemo{} }

func (p *prefilterState) fold(s string) string {
	id := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	slot := &p.folded[(id>>4)%uintptr(len(p.folded))]
	if len(slot.src) == len(s) && unsafe.StringData(slot.src) == unsafe.StringData(s) {
		return slot.folded
	}
	f := pcre.FoldString(s)
	*slot = foldMemo{src: s, folded: f}
	return f
}

// mayContain reports whether s contains one of the literals.
func (p *prefilterState) mayContain(s string, ls *literalSet) bool {
	if ls.fold {
		s = p.fold(s)
	}
	for _, l := range ls.lits {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// ProgramLiterals is for a temporary experiment.
func ProgramLiterals(p *Program) [][]string {
	var out [][]string
	for _, s := range p.sites {
		out = append(out, s.lits.lits)
	}
	return out
}
