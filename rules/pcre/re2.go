package pcre

import (
	"fmt"
	"strings"
)

// Translation to RE2 syntax (Go's regexp). RE2 runs in linear time, so a
// pattern whose meaning is identical there is matched by it. Two PCRE
// features mean the same as their RE2 spelling only for some subjects:
// \b and \B (RE2's are ASCII-only, PCRE2's with UCP are Unicode) agree on
// ASCII subjects, and $, \Z and (?m)^ agree when the subject does not end
// with "\n". The translation records those needs.

// need is a condition on the subject under which a translation is exact.
type need uint8

const (
	needASCII     need = 1 << iota // the subject is ASCII
	needNoFinalNL                  // the subject does not end with "\n"
)

// translator builds RE2 syntax from a syntax tree. In relaxed mode it
// drops what RE2 cannot express in a way that only adds matches (a
// superset), so "no relaxed match" proves "no PCRE match".
type translator struct {
	b       strings.Builder
	relaxed bool
	needs   need
	ok      bool
}

// translate returns the RE2 spelling of root, the subject conditions it
// needs, and false when there is none.
func translate(root *node, relaxed bool) (string, need, bool) {
	t := &translator{relaxed: relaxed, ok: true}
	t.node(root)
	if !t.ok {
		return "", 0, false
	}
	return t.b.String(), t.needs, true
}

// maxRE2Repeat is RE2's largest repetition count.
const maxRE2Repeat = 1000

func (t *translator) fail() { t.ok = false }

func (t *translator) lit(r rune) {
	if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
		t.b.WriteRune(r)
		return
	}
	fmt.Fprintf(&t.b, `\x{%x}`, r)
}

func (t *translator) class(c *class) {
	if c.name != "" {
		t.b.WriteString(c.name)
		return
	}
	t.b.WriteByte('[')
	if len(c.ranges) == 0 {
		// The empty class: nothing matches.
		t.b.WriteString(`^\x{0}-\x{10ffff}`)
	}
	for i := 0; i < len(c.ranges); i += 2 {
		t.lit(c.ranges[i])
		if c.ranges[i+1] != c.ranges[i] {
			t.b.WriteByte('-')
			t.lit(c.ranges[i+1])
		}
	}
	t.b.WriteByte(']')
}

// anything writes a pattern matching any string, the relaxation of a
// construct RE2 cannot express.
func (t *translator) anything() { t.b.WriteString(`(?s:.*)`) }

func (t *translator) node(n *node) {
	if !t.ok {
		return
	}
	switch n.op {
	case opEmpty:
		t.b.WriteString(`(?:)`)
	case opLiteral:
		if n.fold && hasFold(n.r) {
			t.b.WriteString(`(?i:`)
			t.lit(n.r)
			t.b.WriteByte(')')
			return
		}
		t.lit(n.r)
	case opClass:
		t.class(n.cls)
	case opAny:
		if n.dotall {
			t.b.WriteString(`(?s:.)`)
		} else {
			t.b.WriteString(`[^\n]`)
		}
	case opConcat:
		t.b.WriteString(`(?:`)
		for _, s := range n.subs {
			t.node(s)
		}
		t.b.WriteByte(')')
	case opAlt:
		t.b.WriteString(`(?:`)
		for i, s := range n.subs {
			if i > 0 {
				t.b.WriteByte('|')
			}
			t.node(s)
		}
		t.b.WriteByte(')')
	case opRepeat:
		t.repeat(n)
	case opGroup:
		if n.cap > 0 && !t.relaxed {
			t.b.WriteByte('(')
		} else {
			t.b.WriteString(`(?:`)
		}
		t.node(n.sub())
		t.b.WriteByte(')')
	case opAtomic:
		if !t.relaxed {
			t.fail()
			return
		}
		t.node(n.sub())
	case opAssert:
		t.assertion(n.assert)
	case opLook, opKeep:
		if !t.relaxed {
			t.fail()
			return
		}
		t.b.WriteString(`(?:)`)
	case opBackref, opRecurse:
		if !t.relaxed {
			t.fail()
			return
		}
		t.anything()
	case opCond:
		if !t.relaxed {
			t.fail()
			return
		}
		if n.cond == condDefine {
			t.b.WriteString(`(?:)`)
			return
		}
		t.b.WriteString(`(?:`)
		t.node(n.subs[0])
		t.b.WriteByte('|')
		if len(n.subs) > 1 {
			t.node(n.subs[1])
		}
		t.b.WriteByte(')')
	case opVerb:
		// (*FAIL) may be relaxed to "match"; the others change how the
		// search proceeds and have no superset spelling.
		if !t.relaxed || n.verb != verbFail && n.verb != verbMark {
			t.fail()
			return
		}
		t.b.WriteString(`(?:)`)
	default:
		t.fail()
	}
}

func (t *translator) repeat(n *node) {
	if n.possessive && !t.relaxed {
		t.fail()
		return
	}
	if !t.relaxed && n.max != n.min && minLength(n.sub()) == 0 && hasGroup(n.sub()) {
		// PCRE keeps the captures of a last iteration that matches the
		// empty string, as in (x|$)+ at the end; RE2 does not take that
		// iteration.
		t.fail()
		return
	}
	min, max := n.min, n.max
	if min > maxRE2Repeat || max > maxRE2Repeat {
		if !t.relaxed {
			t.fail()
			return
		}
		// A superset: at least min(min, 1000) repetitions, unbounded.
		min, max = min2(min, maxRE2Repeat), -1
	}
	t.b.WriteString(`(?:`)
	t.node(n.sub())
	t.b.WriteByte(')')
	switch {
	case min == 0 && max < 0:
		t.b.WriteByte('*')
	case min == 1 && max < 0:
		t.b.WriteByte('+')
	case min == 0 && max == 1:
		t.b.WriteByte('?')
	case max < 0:
		fmt.Fprintf(&t.b, "{%d,}", min)
	case min == max:
		fmt.Fprintf(&t.b, "{%d}", min)
	default:
		fmt.Fprintf(&t.b, "{%d,%d}", min, max)
	}
	if !n.greedy && !n.possessive {
		t.b.WriteByte('?')
	}
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func (t *translator) assertion(k assertKind) {
	switch k {
	case assertBOL, assertStart:
		t.b.WriteString(`\A`)
		return
	case assertEnd, assertEOLDollarEnd:
		t.b.WriteString(`\z`)
		return
	case assertEOLMulti:
		t.b.WriteString(`(?m:$)`)
		return
	}
	if t.relaxed {
		// Every other assertion only removes matches.
		t.b.WriteString(`(?:)`)
		return
	}
	switch k {
	case assertEOL, assertEndNL:
		t.needs |= needNoFinalNL
		t.b.WriteString(`\z`)
	case assertBOLMulti:
		t.needs |= needNoFinalNL
		t.b.WriteString(`(?m:^)`)
	case assertWord:
		t.needs |= needASCII
		t.b.WriteString(`\b`)
	case assertNotWord:
		t.needs |= needASCII
		t.b.WriteString(`\B`)
	default:
		// \G: a search start other than 0 has no RE2 spelling.
		t.fail()
	}
}
