package pcre

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Literals are strings of which every match of a pattern contains at least
// one. A subject that contains none of them cannot match, so a prefilter
// can decide the pattern without running it.
type Literals struct {
	// Any is the set; nil when the pattern guarantees no literal.
	Any []string
	// Fold means the strings are in case-folded form (see FoldString) and
	// must be looked for in the folded subject.
	Fold bool
}

// Limits on the sets the extraction builds.
const (
	maxExactSet = 16
	maxAnySet   = 64
)

// info is what literal extraction knows about a node: the exact set of
// strings it matches (nil when unknown or too many) and a requirement set.
type info struct {
	exact []string
	req   []string
}

type extractor struct{ fold bool }

// extractLiterals computes the literals of a pattern.
func extractLiterals(root *node) Literals {
	e := extractor{fold: hasCaseless(root)}
	inf := e.info(root)
	req := better(inf.req, asReq(inf.exact))
	return Literals{Any: req, Fold: e.fold}
}

func hasCaseless(n *node) bool {
	if n == nil {
		return false
	}
	if (n.op == opLiteral || n.op == opBackref) && n.fold {
		return true
	}
	for _, s := range n.subs {
		if hasCaseless(s) {
			return true
		}
	}
	return hasCaseless(n.condLook)
}

// FoldRune maps r to the representative of its simple case-folding orbit
// (the smallest code point in it).
func FoldRune(r rune) rune {
	if r < 128 {
		if r >= 'a' && r <= 'z' {
			return r - 32
		}
		return r
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

// FoldString maps every character of s with FoldRune. ASCII-only strings
// take a fast path.
func FoldString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(FoldRune(r))
	}
	return b.String()
}

func (e extractor) runeString(r rune) string {
	if e.fold {
		r = FoldRune(r)
	}
	return string(r)
}

func (e extractor) info(n *node) info {
	switch n.op {
	case opLiteral:
		return info{exact: []string{e.runeString(n.r)}}
	case opClass:
		return info{exact: e.classSet(n.cls)}
	case opEmpty, opAssert, opLook, opKeep:
		return info{exact: []string{""}}
	case opGroup, opAtomic:
		return e.info(n.sub())
	case opConcat:
		return e.concat(n.subs)
	case opAlt:
		return e.alt(n.subs)
	case opRepeat:
		if n.min == 0 {
			return info{}
		}
		sub := e.info(n.sub())
		out := info{req: better(sub.req, asReq(sub.exact))}
		if sub.exact != nil && n.min == n.max && n.min <= 3 {
			set := []string{""}
			for i := 0; i < n.min && set != nil; i++ {
				set = cross(set, sub.exact)
			}
			out.exact = set
		}
		return out
	}
	return info{}
}

// classSet returns the members of a small class as strings.
func (e extractor) classSet(c *class) []string {
	count := 0
	for i := 0; i < len(c.ranges); i += 2 {
		count += int(c.ranges[i+1]-c.ranges[i]) + 1
		if count > 4*2 {
			return nil
		}
	}
	seen := map[string]bool{}
	var out []string
	for i := 0; i < len(c.ranges); i += 2 {
		for r := c.ranges[i]; r <= c.ranges[i+1]; r++ {
			s := e.runeString(r)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	if len(out) > 4 {
		return nil
	}
	return out
}

func (e extractor) concat(subs []*node) info {
	var best []string
	run := []string{""} // exact strings of the pieces since the last reset
	allExact := true
	for _, s := range subs {
		si := e.info(s)
		best = better(best, si.req)
		if run != nil && si.exact != nil {
			if c := cross(run, si.exact); c != nil {
				run = c
				continue
			}
		}
		allExact = false
		best = better(best, asReq(run))
		run = si.exact
	}
	best = better(best, asReq(run))
	out := info{req: best}
	if allExact {
		out.exact = run
	}
	return out
}

func (e extractor) alt(subs []*node) info {
	var exact, req []string
	exactOK, reqOK := true, true
	for _, s := range subs {
		si := e.info(s)
		if exactOK {
			if si.exact == nil {
				exactOK = false
			} else if exact = union(exact, si.exact); len(exact) > maxExactSet {
				exactOK = false
			}
		}
		if reqOK {
			if r := better(si.req, asReq(si.exact)); r == nil {
				reqOK = false
			} else if req = union(req, r); len(req) > maxAnySet {
				reqOK = false
			}
		}
	}
	var out info
	if exactOK {
		out.exact = exact
	}
	if reqOK {
		out.req = req
	}
	return out
}

func exactIf(ok bool, s []string) []string {
	if ok {
		return s
	}
	return nil
}

func cross(a, b []string) []string {
	if len(a)*len(b) > maxExactSet {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		found := false
		for _, t := range out {
			if t == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// asReq turns an exact set into a requirement, unless it holds "" (which
// needs nothing).
func asReq(set []string) []string {
	for _, s := range set {
		if s == "" {
			return nil
		}
	}
	return set
}

// better picks the more selective of two requirements: the one whose
// shortest member is longer.
func better(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	ma, mb := shortest(a), shortest(b)
	if mb > ma || mb == ma && len(b) < len(a) {
		return b
	}
	return a
}

func shortest(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}
