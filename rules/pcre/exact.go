package pcre

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Some patterns are only a few fixed strings, such as
// "Category:Living people" or "(c|C)ategory:(l|L)iving people": they match
// exactly when the subject contains one of the strings, so a substring
// search (SIMD in Go's strings package) answers them, with no automaton
// over a 50 KB page. A caseless pattern qualifies when every character of it
// is caseless or has no case: it then matches exactly when the case-folded
// subject (FoldString) contains one of the folded strings.

// maxExactStrings bounds the set: each string costs one substring search.
const maxExactStrings = 8

// exactStrings returns the strings a pattern matches, when it matches only
// those (no assertions, lookaround, wildcards or unbounded repeats), and
// whether they are case-folded.
func exactStrings(root *node) (set []string, fold bool) {
	fold = hasCaseless(root)
	if fold && !caseConsistent(root) {
		return nil, false
	}
	e := extractor{fold: fold}
	set, ok := e.exact(root)
	if !ok {
		return nil, false
	}
	return set, fold
}

func (e extractor) exact(n *node) ([]string, bool) {
	switch n.op {
	case opEmpty:
		return []string{""}, true
	case opLiteral:
		return []string{e.runeString(n.r)}, true
	case opClass:
		set := e.classSet(n.cls)
		return set, set != nil
	case opGroup:
		return e.exact(n.sub())
	case opConcat:
		acc := []string{""}
		for i := 0; i < len(n.subs); i++ {
			var next []string
			if n.subs[i].op == opLiteral {
				var run string
				run, i = e.literalRun(n.subs, i)
				next = []string{run}
			} else {
				var ok bool
				if next, ok = e.exact(n.subs[i]); !ok {
					return nil, false
				}
			}
			if acc = crossMax(acc, next, maxExactStrings); acc == nil {
				return nil, false
			}
		}
		return acc, true
	case opAlt:
		var out []string
		for _, s := range n.subs {
			next, ok := e.exact(s)
			if !ok {
				return nil, false
			}
			if out = addNew(out, next); len(out) > maxExactStrings {
				return nil, false
			}
		}
		return out, true
	case opRepeat:
		// A possessive repeat gives up no text it took, which can change
		// what the rest matches; keep to plain counted repeats.
		if n.possessive || n.max < 0 || n.max > 4 {
			return nil, false
		}
		sub, ok := e.exact(n.sub())
		if !ok {
			return nil, false
		}
		var out []string
		if n.min == 0 {
			out = []string{""}
		}
		acc := []string{""}
		for i := 1; i <= n.max; i++ {
			if acc = crossMax(acc, sub, maxExactStrings); acc == nil {
				return nil, false
			}
			if i >= n.min {
				if out = addNew(out, acc); len(out) > maxExactStrings {
					return nil, false
				}
			}
		}
		return out, true
	}
	// Atomic groups, assertions, lookaround, wildcards, backreferences…
	return nil, false
}

// disjointStrings reports whether a match of one of set can neither
// contain, nor start inside, a match of another: then preg_match_all's
// matches of the alternation are the matches of each string, found apart
// (strings.Count), since at most one string can match at a place and the
// next match starts after it. A string's matches overlapping one another
// ("aa" in "aaa") are counted as PCRE does, one after the other.
func disjointStrings(set []string) bool {
	for i, a := range set {
		if a == "" {
			return false
		}
		for j, b := range set {
			if i == j {
				continue
			}
			if strings.Contains(b, a) {
				return false
			}
			// A suffix of a that begins b: "ab" then "ba" in "aba".
			for k := 1; k < len(a) && k < len(b); k++ {
				if a[len(a)-k:] == b[:k] {
					return false
				}
			}
		}
	}
	return true
}

// boundedString is a pattern that is one fixed string with \b before it,
// after it or both, such as (<ref\b) in a real filter's rcount: its
// matches are counted with a substring search and a look at the characters
// on either side of each, without a regex engine.
type boundedString struct {
	s                   string
	before, after       bool // \b at the start, at the end
	firstWord, lastWord bool // whether s begins, ends with a word character
}

// boundedStringOf returns the bounded string a pattern is, or nil.
func boundedStringOf(n *node) *boundedString {
	for n.op == opGroup {
		n = n.sub()
	}
	if n.op != opConcat {
		return nil
	}
	subs := n.subs
	b := &boundedString{}
	if len(subs) > 0 && subs[0].op == opAssert && subs[0].assert == assertWord {
		b.before, subs = true, subs[1:]
	}
	if k := len(subs) - 1; k >= 0 && subs[k].op == opAssert && subs[k].assert == assertWord {
		b.after, subs = true, subs[:k]
	}
	if !b.before && !b.after || len(subs) == 0 {
		return nil
	}
	var sb strings.Builder
	for _, x := range subs {
		if x.op != opLiteral || x.fold {
			return nil
		}
		sb.WriteRune(x.r)
	}
	b.s = sb.String()
	first, _ := utf8.DecodeRuneInString(b.s)
	last, _ := utf8.DecodeLastRuneInString(b.s)
	b.firstWord, b.lastWord = isWordRune(first), isWordRune(last)
	return b
}

// count counts the matches in s (valid UTF-8) as preg_match_all finds
// them: from each match's end on, or from the next place when a boundary
// does not hold.
func (b *boundedString) count(s string) int {
	n := 0
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], b.s)
		if j < 0 {
			break
		}
		p := i + j
		end := p + len(b.s)
		if (!b.before || wordBefore(s, p) != b.firstWord) && (!b.after || wordAt(s, end) != b.lastWord) {
			n++
			i = end
		} else {
			i = p + 1
		}
	}
	return n
}

// caseConsistent reports whether, in a caseless pattern, every literal with
// case variants is caseless and every class holds the whole case orbit of
// each of its members, so that matching the folded subject against the
// folded strings gives the pattern's answer.
func caseConsistent(n *node) bool {
	switch n.op {
	case opLiteral:
		return n.fold || unicode.SimpleFold(n.r) == n.r
	case opClass:
		c := n.cls
		count := 0
		for i := 0; i < len(c.ranges); i += 2 {
			if count += int(c.ranges[i+1]-c.ranges[i]) + 1; count > 16 {
				return false
			}
			for r := c.ranges[i]; r <= c.ranges[i+1]; r++ {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					if !c.contains(f) {
						return false
					}
				}
			}
		}
		return true
	}
	for _, s := range n.subs {
		if !caseConsistent(s) {
			return false
		}
	}
	return true
}

// ExactStrings returns, for a pattern that matches exactly when the
// subject contains one of a few fixed strings, those strings and whether
// they are case-folded (to be looked for in FoldString(subject)); nil when
// the pattern is not of that kind.
func (re *Regexp) ExactStrings() (set []string, fold bool) {
	return re.exactSet, re.exactFold
}

// MatchFolded answers a pattern whose ExactStrings are folded, given the
// folded subject: callers that match many patterns against one subject fold
// it once.
func (re *Regexp) MatchFolded(folded string) bool { return re.matchExact(folded) }

// matchExact reports whether s contains one of the pattern's fixed
// strings.
func (re *Regexp) matchExact(s string) bool { return re.exactNeedles.In(s) }

// oneClass returns the class of a pattern that is one character class,
// possibly in groups, or nil.
func oneClass(n *node) *class {
	for n.op == opGroup {
		n = n.sub()
	}
	if n.op == opClass {
		return n.cls
	}
	return nil
}

// countClass counts the characters of s in c.
func countClass(c *class, s string) int {
	n := 0
	for _, r := range s {
		if c.contains(r) {
			n++
		}
	}
	return n
}
