// Package pcre implements regular expressions with the meaning PHP gives
// them: PCRE2 with the /u modifier (UTF-8 and Unicode properties for \w, \d,
// \s, \b and POSIX classes), as AbuseFilter's rlike, irlike, rcount,
// get_matches and str_replace_regexp use them.
//
// A pattern is parsed once into a syntax tree. From the tree the package
// builds three things: a backtracking program that runs every PCRE2 feature
// with PCRE2's semantics and a step limit (the exact engine); a translation
// to RE2 syntax when the pattern means exactly the same there, run by Go's
// linear-time engine; and, when no exact translation exists, a relaxed RE2
// translation that matches a superset, used to rule out subjects quickly.
// It also extracts the literals any match must contain, for a prefilter.
package pcre

// op is the kind of a syntax-tree node.
type op uint8

const (
	opEmpty   op = iota // matches the empty string
	opLiteral           // one code point (r), possibly caseless (fold)
	opClass             // a character class
	opAny               // . : any code point (except \n unless dotall)
	opConcat            // subs in sequence
	opAlt               // one of subs
	opRepeat            // sub repeated min..max (max -1 = unbounded)
	opGroup             // capturing (cap > 0) or not (cap == 0)
	opAtomic            // (?>...)
	opLook              // lookaround: ahead/behind, negated
	opAssert            // zero-width assertion (kind)
	opBackref           // \n, \k<name>: cap, fold
	opRecurse           // (?R), (?n), (?&name): cap (0 = whole pattern)
	opCond              // (?(cond)yes|no)
	opVerb              // (*FAIL), (*ACCEPT), (*COMMIT), ...
	opKeep              // \K
)

// assertion kinds for opAssert.
type assertKind uint8

const (
	assertBOL          assertKind = iota // ^ without (?m): start of subject
	assertBOLMulti                       // ^ with (?m)
	assertEOL                            // $ without (?m): end, or before a final \n
	assertEOLDollarEnd                   // $ with the D modifier: end only
	assertEOLMulti                       // $ with (?m)
	assertStart                          // \A
	assertEnd                            // \z
	assertEndNL                          // \Z: end, or before a final \n
	assertWord                           // \b
	assertNotWord                        // \B
	assertFirstPos                       // \G
)

// condition kinds for opCond.
type condKind uint8

const (
	condGroup     condKind = iota // (?(1)...), (?(<name>)...)
	condRecursion                 // (?(R)...), (?(R1)...), (?(R&name)...)
	condDefine                    // (?(DEFINE)...)
	condAssert                    // (?(?=...)...)
)

// verbs for opVerb.
type verb uint8

const (
	verbFail verb = iota
	verbAccept
	verbCommit
	verbPrune
	verbSkip
	verbThen
	verbMark
)

// node is one node of a pattern's syntax tree. Its fields are ordered for
// size: the real filters' patterns make tens of thousands of nodes (one
// per literal character), all kept for the engines built on first use.
type node struct {
	op   op
	fold bool // opLiteral, opBackref: caseless

	// opRepeat
	greedy     bool
	possessive bool

	// opLook
	behind, negate bool

	dotall bool       // opAny
	assert assertKind // opAssert
	cond   condKind   // opCond
	verb   verb       // opVerb

	r   rune // opLiteral
	cls *class

	subs []*node // opConcat, opAlt; opCond: [yes] or [yes, no]

	min, max int // opRepeat

	// opGroup (cap > 0 captures), opBackref, opRecurse, opCond (condGroup)
	cap int
	// caps: every group of a duplicated name (?J) that a backreference or
	// condition refers to; a backreference matches the first one set, a
	// condition is true when any one is. Rare, hence behind a pointer.
	caps *[]int

	condLook *node // opCond, condAssert: the lookaround
}

// groups returns caps, or nil.
func (n *node) groups() []int {
	if n.caps == nil {
		return nil
	}
	return *n.caps
}

func (n *node) sub() *node { return n.subs[0] }
