package rules

import (
	"math/bits"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/prefilter"
	"github.com/vigilwiki/vigil/rules/validutf8"
)

// The literal prefilter: a regex whose required literals (see
// pcre.Literals) are all absent from the subject cannot match, so it is
// decided without running. In a Set, the literals of every constant regex
// of every filter are found together, in one Aho-Corasick pass per subject
// and action (package prefilter); a program compiled alone checks its own
// with strings.Contains. This never changes a result or a condition count,
// only how fast a false comes.

// minLiteral is the shortest literal worth checking: one-byte literals
// occur in nearly every text.
const minLiteral = 2

// literalSet is the literals of one regex site, or one constant needle of
// a containment test: the subject may match only if it holds one of them.
//
// What a match reads comes first, in 40 bytes (n rather than len(lits)),
// so that a regex site holds it in its first cache line with the regex:
// an action touches hundreds of sites, and on machines with 512 KB of L2
// what it touches no longer fits (docs/performance.md, twenty-first
// session).
type literalSet struct {
	ids []int32 // the literals' ids in the Set's index, when in a Set
	// needles: lits, searched together (see newLits).
	needles *pcre.Needles
	n       int32 // len(lits)
	fold    bool
	// exact: the regex is these fixed strings (pcre.Regexp.ExactStrings),
	// so that its literal search is its match.
	exact bool
	lits  []string
}

func newLiteralSet(re *pcre.Regexp) literalSet {
	l := re.Literals()
	for _, s := range l.Any {
		if len(s) < minLiteral {
			return literalSet{}
		}
	}
	set, _ := re.ExactStrings()
	return newLits(l.Any, l.Fold, set != nil)
}

// newLits is the literal set of lits.
func newLits(lits []string, fold, exact bool) literalSet {
	ls := literalSet{lits: lits, n: int32(len(lits)), fold: fold, exact: exact}
	if len(lits) > 0 {
		ls.needles = pcre.NewNeedles(lits)
	}
	return ls
}

func (ls *literalSet) empty() bool { return ls.n == 0 }

// literalIndex assigns ids to the literals of a Set's regexes and needles
// and builds their automaton.
func literalIndex(sets []*literalSet) *prefilter.Index {
	ids := map[string]int32{}
	var lits []string
	// The sets' ids carved from one array: dense, where an allocation each
	// scattered a few bytes over a cache line of its own.
	n := 0
	for _, ls := range sets {
		n += len(ls.lits)
	}
	all := make([]int32, n)
	for _, ls := range sets {
		if ls.empty() {
			continue
		}
		ls.ids, all = all[:len(ls.lits):len(ls.lits)], all[len(ls.lits):]
		for i, l := range ls.lits {
			if !ls.fold {
				l = pcre.FoldString(l)
			}
			id, ok := ids[l]
			if !ok {
				id = int32(len(lits))
				ids[l] = id
				lits = append(lits, l)
			}
			ls.ids[i] = id
		}
	}
	if len(lits) == 0 {
		return nil
	}
	return prefilter.New(lits)
}

// prefilterState remembers, per action, what it learnt about each subject
// string: whether it is valid UTF-8, the literals found in it, its
// case-folded form, and what direct searches in it have cost.
type prefilterState struct {
	index *prefilter.Index
	// subjects is a table of them by the string's address and length,
	// open addressing, in which the entries of this action have its gen.
	// (Direct-mapped memos of 8 and 16 slots, one per kind of fact, lost
	// entries to collisions that depended on where strings lay: an action
	// scanned a subject again up to three times, and checked its UTF-8 up
	// to five.)
	subjects []subjectInfo
	shift    uint8 // 64 - log2(len(subjects))
	gen      uint32
	// used is where this action's entries are, so that emptying the table
	// zeroes them: the strings they hold (pages, their folded forms) are
	// not kept alive into later actions.
	used []int32
	// scans lists this action's scanned subjects, for literals.
	scans []subjectScan
	words []uint64 // backing store of the found sets
	// foldBuf holds this action's folded subjects: a page folds to tens of
	// KB, which every action would otherwise allocate anew. The folded
	// strings are only searched, never handed out, so the next action may
	// write over them.
	foldBuf []byte
}

type subjectInfo struct {
	gen     uint32
	valid   bool // known to be valid UTF-8
	hasFold bool // folded is set
	asked   int  // the cost of the direct searches so far (see searchDirectly)
	src     string
	found   prefilter.Set // the literals found, once scanned
	folded  string
}

type subjectScan struct {
	src string
	set prefilter.Set
}

const (
	subjectSlots = 64 // to start with
	// maxSubjectSlots bounds the table: an action with more subjects
	// starts it over, forgetting what it knew (which changes nothing but
	// speed).
	maxSubjectSlots = 1 << 13
)

// subject returns s's entry, added if new. The pointer is valid until the
// next call.
func (p *prefilterState) subject(s string) *subjectInfo {
	if p.subjects == nil {
		p.subjects = make([]subjectInfo, subjectSlots)
		p.shift = uint8(64 - bits.TrailingZeros(subjectSlots))
	}
	id := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))<<40
	mask := uint64(len(p.subjects) - 1)
	for i := id * 0x9E3779B97F4A7C15 >> p.shift; ; i = (i + 1) & mask {
		e := &p.subjects[i]
		if e.gen != p.gen {
			if 4*(len(p.used)+1) > 3*len(p.subjects) {
				p.grow()
				return p.subject(s)
			}
			p.used = append(p.used, int32(i))
			*e = subjectInfo{gen: p.gen, src: s}
			return e
		}
		if sameString(e.src, s) {
			return e
		}
	}
}

// grow doubles the table of subjects, or starts it over at its bound.
func (p *prefilterState) grow() {
	old := p.subjects
	if 2*len(old) > maxSubjectSlots {
		p.newGen()
		return
	}
	p.subjects = make([]subjectInfo, 2*len(old))
	p.shift--
	used := p.used
	p.used = make([]int32, 0, 2*len(used))
	for _, i := range used {
		*p.subject(old[i].src) = old[i]
	}
}

// newGen empties the table of subjects: the entries in use are zeroed,
// and a new generation tells the others apart from this action's.
func (p *prefilterState) newGen() {
	p.used, p.gen = emptyTable(p.subjects, p.used, p.gen)
}

// searchDirectly reports whether n literals should be looked for in s by
// direct searches rather than by scanning s with the automaton, and if so
// counts their cost against s. A scan costs about 8 instructions a byte
// and answers every later question about s for free; a direct search
// about 50 plus a byte in 8 (SIMD). Searching directly until the searches
// have cost what a scan would, and scanning from then on, never costs
// more than twice the better of the two for however many questions come.
func (p *prefilterState) searchDirectly(e *subjectInfo, n int) bool {
	cost := n * (50 + len(e.src)/8)
	if e.asked+cost > 8*len(e.src)+200 {
		return false
	}
	e.asked += cost
	return true
}

func (p *prefilterState) reset(index *prefilter.Index) {
	p.index = index
	p.newGen()
	clear(p.scans)
	p.scans = p.scans[:0]
	p.words = p.words[:0]
	if cap(p.foldBuf) > 2*maxFoldBuf {
		p.foldBuf = nil // do not keep more than the bound (and its growth)
	}
	p.foldBuf = p.foldBuf[:0]
}

// validUTF8 reports whether s is valid UTF-8, checking each subject once
// per action rather than once per regex; it returns s's entry too, for
// the questions that follow.
func (p *prefilterState) validUTF8(s string) (*subjectInfo, bool) {
	e := p.subject(s)
	if e.valid {
		return e, true
	}
	if !validutf8.String(s) {
		return e, false
	}
	e.valid = true
	return e, true
}

func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

func (p *prefilterState) fold(s string) string { return p.foldOf(p.subject(s)) }

func (p *prefilterState) foldOf(e *subjectInfo) string {
	s := e.src
	if e.hasFold {
		return e.folded
	}
	f := s
	if len(p.foldBuf)+len(s) > maxFoldBuf {
		f = pcre.FoldString(s) // the buffer is bounded: fold apart
	} else if b, changed := pcre.AppendFold(p.foldBuf, s); changed {
		f = unsafe.String(&b[len(p.foldBuf)], len(b)-len(p.foldBuf))
		p.foldBuf = b
	}
	e.folded, e.hasFold = f, true
	return f
}

// sameUpToASCIICase reports whether a and b differ at most in the case
// of ASCII letters.
func sameUpToASCIICase(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if x, y := a[i], b[i]; x != y && (x^y != 0x20 || !isASCIILetter(x)) {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// maxCopyScans bounds the earlier scans a subject is compared with (see
// literals).
const maxCopyScans = 64

// maxFoldBuf bounds the folding buffer, within an action and from one
// action to the next.
const maxFoldBuf = 1 << 20

// literals returns the set of the index's literals found in e's subject,
// scanning it once per action.
func (p *prefilterState) literals(e *subjectInfo) prefilter.Set {
	s := e.src
	if e.found != nil {
		return e.found
	}
	// Filters ask of copies of one text (the same title twice) and of its
	// lcase, ucase and the like, which for ASCII differ only in case: the
	// automaton folds ASCII letters, so such a subject scanned already has
	// the same literals. A third of an action's scanned bytes were such.
	// (Among the first maxCopyScans only: an action that scans thousands
	// of subjects must not compare each with all.)
	for _, sc := range p.scans[:min(len(p.scans), maxCopyScans)] {
		if sameUpToASCIICase(sc.src, s) {
			e.found = sc.set
			return sc.set
		}
	}
	n := p.index.Words()
	start := len(p.words)
	p.words = append(p.words, make([]uint64, n)...)
	set := prefilter.Set(p.words[start : start+n : start+n])
	p.index.Scan(s, set)
	e.found = set
	p.scans = append(p.scans, subjectScan{s, set})
	return set
}

// absent reports whether the action's literal index shows that s holds
// none of the literals; false when it cannot tell. A containment test
// alone is cheaper with strings.Contains than with a scan of its own
// (Index uses SIMD), so scan says whether s may be scanned for this
// question; otherwise only a scan made for another site is used.
func (p *prefilterState) absent(s string, ls *literalSet, scan bool) bool {
	if ls.ids == nil || p.index == nil {
		return false
	}
	e := p.subject(s)
	found := e.found
	if found == nil {
		if !scan {
			return false
		}
		found = p.literals(e)
	}
	for _, id := range ls.ids {
		if found.Has(id) {
			return false
		}
	}
	return true
}

// A long subject (a whole page) is searched directly for a few literals
// (SIMD) rather than scanned once with the automaton for all: only a few
// sites look into a page, and the scan costs several times a search
// (measured on the workload of BenchmarkScreen). Other subjects are
// searched directly until that has cost what a scan would (see
// searchDirectly): many derived strings (lcase(...), rmwhitespace(...))
// are asked only once or twice.
const (
	directSearch   = 4 << 10
	directLiterals = 4
)

// mayContain reports whether e's subject contains one of the literals.
func (p *prefilterState) mayContain(e *subjectInfo, ls *literalSet) bool {
	s := e.src
	if ls.ids != nil && p.index != nil {
		found := e.found
		if found == nil {
			direct := ls.n <= directLiterals && len(s) > directSearch ||
				p.searchDirectly(e, int(ls.n))
			if !direct {
				found = p.literals(e)
			}
		}
		if found != nil {
			for _, id := range ls.ids {
				if found.Has(id) {
					return true
				}
			}
			return false
		}
	}
	if ls.fold {
		s = p.foldOf(e)
	}
	return ls.needles.In(s)
}
