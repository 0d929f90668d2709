package pcre

import (
	"sort"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// A lazy DFA answers "does the pattern match anywhere?" in one pass over
// the subject, for patterns without backreferences, lookaround, atomic
// groups and the like (their set of matching strings is regular). Unlike
// RE2's, it works on characters, not bytes, so that PCRE2's Unicode
// meanings hold exactly: \b and \B look at Unicode word characters, and $
// also matches before a final newline.
//
// The input alphabet is split into equivalence classes: the intervals
// between the boundaries of every character set in the pattern. A symbol is
// a class and whether the character is a word character (for \b), so a
// state's transitions are a small table filled on demand.

// nfa instruction kinds.
type nOp uint8

const (
	nChar   nOp = iota // consume a character whose class is in set
	nSplit             // go to out and out1
	nAssert            // go to out if the assertion holds here
	nNop               // go to out
	nMatch
)

type nInst struct {
	op        nOp
	assert    assertKind
	out, out1 int32
	set       []uint64 // nChar: bitset of class ids
}

const maxNFA = 20000 // NFA instructions; larger patterns use other engines

// What match reads comes first: the table, its stride, then the symbols.
type dfa struct {
	// The states found so far and their transitions, as a flat table that
	// match reads without locking: a step is one load, where a state
	// holding pointers to its successors took two dependent ones.
	tab       atomic.Pointer[dtable]
	stride    int         // table entries per state: one per symbol, then finalNL and end columns
	nlSym     uint16      // symbol of "\n"
	hasDollar bool        // the pattern has $ or \Z (needs "before final newline")
	asciiSym  [128]uint16 // symbol of each ASCII character
	// skipTo, when not nil, marks the bytes a match may begin with (and
	// every byte of a character that is not ASCII): in a state waiting for
	// nothing, the scan jumps over the others (see idleTag).
	skipTo *[256]bool
	insts  []nInst
	start  int32
	nclass int
	bounds []rune // sorted class starts (bounds[0] == 0)

	mu      sync.Mutex // held to add states and transitions
	states  map[string]*dstate
	nstates int
	gen     uint32 // bumped when the states are dropped (see maxDFAStates)
}

// dtable is the transition table. Row r (at offset r*stride) holds, for
// each symbol, the offset of the next state's row, dfaUnknown when not yet
// computed or dfaMatched; then the same for a "\n" that ends the subject
// (before which $ matches too: subjects often end so); then the end status
// (0 unknown, 1 a match ends at the end of the subject, 2 none). Row 0 is
// unused, so that 0 means unknown. A table's length never changes: rows
// are added within it, and when it is full a copy twice as large replaces
// it, after which no step is written into the old one (only end statuses,
// which hold no offsets), so a reader holding it only ever sees offsets
// inside it.
type dtable struct {
	t    []int32
	list []*dstate // the state of each row; row 1 is the start state's
}

const (
	dfaUnknown = 0
	dfaMatched = -1
)

// A step into an idle state (one waiting for no instruction: no match is
// under way) is stored as idleTag(off) when the DFA skips, so that the
// scan's one test for unusual entries (at most 0) also finds the places
// where it may jump ahead. From an idle state, a byte that cannot begin a
// match leads to the idle state of that byte's flags whatever the state
// was, and sees no match (skipping is only for patterns that cannot match
// the empty string): so a run of such bytes ends in the state that one
// step on its last byte gives.
func idleTag(off int32) int32 { return -2 - off }

// untag returns the state's offset of a table entry that is not
// dfaUnknown or dfaMatched.
func untag(n int32) int32 {
	if n < dfaMatched {
		return -2 - n
	}
	return n
}

// dstate is a set of NFA instructions waiting for the next character, with
// what the previous character was.
type dstate struct {
	insts []int32
	flags uint8
	gen   uint32 // the generation whose table holds the state at off
	off   int32
}

const (
	fAtStart uint8 = 1 << iota
	fPrevWord
	fPrevNL
)

// matched is the state after a match was seen.
var matched = &dstate{off: dfaMatched}

const maxDFAStates = 4096

// dfaCompatible reports whether n can run on the DFA: only constructs whose
// match set is regular and assertions the DFA knows.
func dfaCompatible(n *node) bool {
	switch n.op {
	case opEmpty, opLiteral, opClass, opAny:
		return true
	case opAssert:
		return n.assert != assertFirstPos
	case opConcat, opAlt, opGroup:
		for _, s := range n.subs {
			if !dfaCompatible(s) {
				return false
			}
		}
		return true
	case opRepeat:
		return !n.possessive && dfaCompatible(n.sub())
	}
	return false
}

// relax returns a pattern whose matches include every match of n and that
// the DFA can run: lookarounds, \K and \G are dropped, a backreference
// becomes a copy of its group, atomic groups and possessive quantifiers
// lose their restriction, a conditional becomes both branches. It returns
// nil when no such pattern is known (control verbs other than (*FAIL)).
func relax(n *node, groups map[int][]*node, depth int) *node {
	if depth > 8 {
		return nil
	}
	empty := &node{op: opEmpty}
	anything := &node{op: opRepeat, min: 0, max: -1, greedy: true, subs: []*node{{op: opAny, dotall: true}}}
	switch n.op {
	case opEmpty, opLiteral, opClass, opAny:
		return n
	case opAssert:
		if n.assert == assertFirstPos {
			return empty
		}
		return n
	case opLook, opKeep:
		return empty
	case opBackref:
		// The text matched is what one of the groups with that number
		// (several under (?|...)) or name (several under (?J)) matched.
		nums := n.groups()
		if nums == nil {
			nums = []int{n.cap}
		}
		alt := &node{op: opAlt}
		for _, num := range nums {
			for _, g := range groups[num] {
				r := relax(g, groups, depth+1)
				if r == nil {
					return nil
				}
				alt.subs = append(alt.subs, r)
			}
		}
		if len(alt.subs) == 0 || n.fold {
			return anything
		}
		return alt
	case opRecurse:
		return anything
	case opVerb:
		if n.verb == verbFail || n.verb == verbMark {
			return empty
		}
		return nil
	case opCond:
		if n.cond == condDefine {
			return empty
		}
		alts := []*node{}
		for _, s := range n.subs {
			r := relax(s, groups, depth)
			if r == nil {
				return nil
			}
			alts = append(alts, r)
		}
		if len(alts) == 1 {
			alts = append(alts, empty)
		}
		return &node{op: opAlt, subs: alts}
	case opAtomic:
		r := relax(n.sub(), groups, depth)
		if r == nil {
			return nil
		}
		return &node{op: opGroup, subs: []*node{r}}
	case opRepeat:
		r := relax(n.sub(), groups, depth)
		if r == nil {
			return nil
		}
		c := *n
		c.possessive = false
		c.subs = []*node{r}
		return &c
	case opConcat, opAlt, opGroup:
		c := *n
		c.subs = make([]*node, len(n.subs))
		for i, s := range n.subs {
			if c.subs[i] = relax(s, groups, depth); c.subs[i] == nil {
				return nil
			}
		}
		return &c
	}
	return nil
}

// newDFA builds the DFA of a pattern, or returns nil when the pattern does
// not fit.
func newDFA(root *node) *dfa {
	if !dfaCompatible(root) {
		return nil
	}
	d := &dfa{}
	d.partition(root)
	d.stride = 2*d.nclass + 2
	b := nfaBuilder{d: d}
	f, ok := b.build(root)
	if !ok {
		return nil
	}
	m := d.emit(nInst{op: nMatch})
	b.patch(f.outs, m)
	d.start = f.start
	for c := 0; c < 128; c++ {
		d.asciiSym[c] = d.symbol(rune(c))
	}
	d.nlSym = d.symbol('\n')
	d.skipTo = d.leadingBytes()
	d.reset()
	return d
}

// maxSkipBytes bounds how many ASCII bytes may begin a match for the scan
// to skip: with more, the runs it could jump over are too short to pay
// for the jumps.
const maxSkipBytes = 16

// leadingBytes returns the bytes a match may begin with, under any
// context (every assertion taken to hold), and every byte of 0x80 and
// above; or nil when skipping would not pay or would be wrong: the pattern
// may match the empty string, or too many bytes may begin a match.
func (d *dfa) leadingBytes() *[256]bool {
	var first []int32
	if d.closure(d.start, &context{anything: true}, make([]bool, len(d.insts)), &first) {
		return nil
	}
	classes := make([]uint64, (d.nclass+63)/64)
	for _, pc := range first {
		for k, w := range d.insts[pc].set {
			classes[k] |= w
		}
	}
	var lead [256]bool
	n := 0
	for c := range 256 {
		if c >= utf8.RuneSelf {
			lead[c] = true
			continue
		}
		cls := d.asciiSym[c] >> 1
		if classes[cls/64]&(1<<(cls%64)) != 0 {
			lead[c] = true
			n++
		}
	}
	if n > maxSkipBytes {
		return nil
	}
	return &lead
}

// reset starts the table over with only the start state. Callers hold
// d.mu or are building the DFA.
func (d *dfa) reset() {
	d.gen++
	d.states = map[string]*dstate{}
	d.nstates = 0
	d.tab.Store(&dtable{t: make([]int32, 8*d.stride), list: make([]*dstate, 8)})
	d.state(nil, fAtStart) // row 1
}

// charRanges returns the code points a single-character node matches.
func charRanges(n *node) []rune {
	switch n.op {
	case opLiteral:
		rs := []rune{n.r, n.r}
		if n.fold {
			rs = foldRanges(rs)
		}
		return rs
	case opClass:
		return n.cls.ranges
	case opAny:
		if n.dotall {
			return []rune{0, maxRune}
		}
		return classNotNL.ranges
	}
	return nil
}

// partition computes the character classes: the intervals between all set
// boundaries of the pattern (and around "\n").
func (d *dfa) partition(root *node) {
	set := map[rune]bool{0: true, '\n': true, '\n' + 1: true}
	var walk func(n *node)
	walk = func(n *node) {
		if rs := charRanges(n); rs != nil {
			for i := 0; i < len(rs); i += 2 {
				set[rs[i]] = true
				if rs[i+1] < maxRune {
					set[rs[i+1]+1] = true
				}
			}
		}
		if n.op == opAssert && (n.assert == assertEOL || n.assert == assertEndNL) {
			d.hasDollar = true
		}
		for _, s := range n.subs {
			walk(s)
		}
	}
	walk(root)
	for r := range set {
		d.bounds = append(d.bounds, r)
	}
	sort.Slice(d.bounds, func(i, j int) bool { return d.bounds[i] < d.bounds[j] })
	d.nclass = len(d.bounds)
}

func (d *dfa) class(r rune) int {
	return sort.Search(len(d.bounds), func(i int) bool { return d.bounds[i] > r }) - 1
}

// symbol is a character's class and word bit.
func (d *dfa) symbol(r rune) uint16 {
	s := uint16(d.class(r)) << 1
	if isWordRune(r) {
		s |= 1
	}
	return s
}

func (d *dfa) emit(in nInst) int32 {
	d.insts = append(d.insts, in)
	return int32(len(d.insts) - 1)
}

// nfaBuilder builds a Thompson NFA with patch lists.
type nfaBuilder struct{ d *dfa }

type nPatch struct {
	inst int32
	out1 bool
}

type nFrag struct {
	start int32
	outs  []nPatch
}

func (b *nfaBuilder) patch(outs []nPatch, to int32) {
	for _, p := range outs {
		if p.out1 {
			b.d.insts[p.inst].out1 = to
		} else {
			b.d.insts[p.inst].out = to
		}
	}
}

func (b *nfaBuilder) nop() nFrag {
	i := b.d.emit(nInst{op: nNop})
	return nFrag{i, []nPatch{{i, false}}}
}

func (b *nfaBuilder) build(n *node) (nFrag, bool) {
	if len(b.d.insts) > maxNFA {
		return nFrag{}, false
	}
	if rs := charRanges(n); rs != nil {
		set := make([]uint64, (b.d.nclass+63)/64)
		for i := 0; i < len(rs); i += 2 {
			for c := b.d.class(rs[i]); c < b.d.nclass && b.d.bounds[c] <= rs[i+1]; c++ {
				set[c/64] |= 1 << (c % 64)
			}
		}
		i := b.d.emit(nInst{op: nChar, set: set})
		return nFrag{i, []nPatch{{i, false}}}, true
	}
	switch n.op {
	case opEmpty:
		return b.nop(), true
	case opAssert:
		i := b.d.emit(nInst{op: nAssert, assert: n.assert})
		return nFrag{i, []nPatch{{i, false}}}, true
	case opGroup:
		return b.build(n.sub())
	case opConcat:
		var f nFrag
		for k, s := range n.subs {
			g, ok := b.build(s)
			if !ok {
				return nFrag{}, false
			}
			if k == 0 {
				f = g
				continue
			}
			b.patch(f.outs, g.start)
			f.outs = g.outs
		}
		if len(n.subs) == 0 {
			return b.nop(), true
		}
		return f, true
	case opAlt:
		var f nFrag
		for k, s := range n.subs {
			g, ok := b.build(s)
			if !ok {
				return nFrag{}, false
			}
			if k == 0 {
				f = g
				continue
			}
			i := b.d.emit(nInst{op: nSplit, out: f.start, out1: g.start})
			f = nFrag{i, append(f.outs, g.outs...)}
		}
		return f, true
	case opRepeat:
		return b.repeat(n)
	}
	return nFrag{}, false
}

// star builds x* over a fresh copy of sub.
func (b *nfaBuilder) star(sub *node) (nFrag, bool) {
	x, ok := b.build(sub)
	if !ok {
		return nFrag{}, false
	}
	i := b.d.emit(nInst{op: nSplit, out: x.start})
	b.patch(x.outs, i)
	return nFrag{i, []nPatch{{i, true}}}, true
}

// quest builds x? over a fresh copy of sub.
func (b *nfaBuilder) quest(sub *node) (nFrag, bool) {
	x, ok := b.build(sub)
	if !ok {
		return nFrag{}, false
	}
	i := b.d.emit(nInst{op: nSplit, out: x.start})
	return nFrag{i, append(x.outs, nPatch{i, true})}, true
}

// repeat expands x{min,max} into copies (greediness does not change which
// strings match).
func (b *nfaBuilder) repeat(n *node) (nFrag, bool) {
	sub := n.sub()
	var parts []nFrag
	for k := 0; k < n.min; k++ {
		x, ok := b.build(sub)
		if !ok {
			return nFrag{}, false
		}
		parts = append(parts, x)
	}
	switch {
	case n.max < 0:
		x, ok := b.star(sub)
		if !ok {
			return nFrag{}, false
		}
		parts = append(parts, x)
	default:
		for k := n.min; k < n.max; k++ {
			x, ok := b.quest(sub)
			if !ok {
				return nFrag{}, false
			}
			parts = append(parts, x)
		}
	}
	if len(parts) == 0 {
		return b.nop(), true
	}
	f := parts[0]
	for _, g := range parts[1:] {
		b.patch(f.outs, g.start)
		f.outs = g.outs
	}
	return f, true
}

// context is what the assertions at one position can see.
type context struct {
	atStart, atEnd     bool
	prevWord, curWord  bool
	prevNL, curNL      bool
	beforeFinalNewline bool // the character here is a "\n" that ends the subject
	anything           bool // every assertion holds (see leadingBytes)
}

func (c context) holds(k assertKind) bool {
	if c.anything {
		return true
	}
	switch k {
	case assertBOL, assertStart:
		return c.atStart
	case assertBOLMulti:
		return c.atStart || c.prevNL && !c.atEnd
	case assertEOL, assertEndNL:
		return c.atEnd || c.beforeFinalNewline
	case assertEOLDollarEnd, assertEnd:
		return c.atEnd
	case assertEOLMulti:
		return c.atEnd || c.curNL
	case assertWord:
		return c.prevWord != c.curWord
	case assertNotWord:
		return c.prevWord == c.curWord
	}
	return false
}

// closure adds to set (a sparse set) every instruction reachable from pc
// through splits, nops and assertions that hold in ctx. It reports whether
// Match is reachable.
func (d *dfa) closure(pc int32, ctx *context, seen []bool, out *[]int32) bool {
	stack := []int32{pc}
	found := false
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &d.insts[pc]
		switch in.op {
		case nMatch:
			found = true
		case nChar:
			*out = append(*out, pc)
		case nSplit:
			stack = append(stack, in.out1, in.out)
		case nNop:
			stack = append(stack, in.out)
		case nAssert:
			if ctx.holds(in.assert) {
				stack = append(stack, in.out)
			}
		}
	}
	return found
}

// state returns the canonical state for a set of waiting instructions,
// with a row in the current table. Callers hold d.mu or are building the
// DFA.
func (d *dfa) state(insts []int32, flags uint8) *dstate {
	key := make([]byte, 0, 1+4*len(insts))
	key = append(key, flags)
	for _, pc := range insts {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	if s, ok := d.states[string(key)]; ok {
		return s
	}
	if d.nstates >= maxDFAStates {
		// Start over rather than grow without bound; matches under way
		// keep their table and come back through current.
		d.reset()
	}
	tab := d.tab.Load()
	row := d.nstates + 1
	if row == len(tab.list) {
		// Twice as many rows, but no more than the states allowed (and
		// row 0).
		rows := min(2*len(tab.list), maxDFAStates+1)
		bigger := &dtable{t: make([]int32, rows*d.stride), list: make([]*dstate, rows)}
		copy(bigger.t, tab.t)
		copy(bigger.list, tab.list)
		d.tab.Store(bigger)
		tab = bigger
	}
	s := &dstate{insts: insts, flags: flags, gen: d.gen, off: int32(row * d.stride)}
	tab.list[row] = s
	d.states[string(key)] = s
	d.nstates++
	return s
}

// current returns the current table and the row there of the state at off
// in tab, which may be an older table. Callers hold d.mu.
func (d *dfa) current(tab *dtable, off int32) (*dtable, *dstate) {
	s := tab.list[int(off)/d.stride]
	if s.gen != d.gen {
		s = d.state(s.insts, s.flags)
	}
	return d.tab.Load(), s
}

// step computes the state after reading a character with symbol sym from
// state s (finalNL: the character is a "\n" that ends the subject). It
// returns matched when a match ends before the character.
func (d *dfa) step(s *dstate, sym uint16, finalNL bool) *dstate {
	cls := int(sym >> 1)
	ctx := context{
		atStart:            s.flags&fAtStart != 0,
		prevWord:           s.flags&fPrevWord != 0,
		prevNL:             s.flags&fPrevNL != 0,
		curWord:            sym&1 != 0,
		curNL:              sym>>1 == d.nlSym>>1,
		beforeFinalNewline: finalNL,
	}
	seen := make([]bool, len(d.insts))
	var here []int32
	found := false
	for _, pc := range s.insts {
		found = d.closure(pc, &ctx, seen, &here) || found
	}
	// The search is unanchored: a match may start at every position.
	found = d.closure(d.start, &ctx, seen, &here) || found
	if found {
		return matched
	}
	var next []int32
	for _, pc := range here {
		in := &d.insts[pc]
		if in.set[cls/64]&(1<<(cls%64)) != 0 {
			next = append(next, in.out)
		}
	}
	sort.Slice(next, func(i, j int) bool { return next[i] < next[j] })
	next = dedup(next)
	var flags uint8
	if ctx.curWord {
		flags |= fPrevWord
	}
	if ctx.curNL {
		flags |= fPrevNL
	}
	return d.state(next, flags)
}

func dedup(s []int32) []int32 {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// endMatches reports whether a match ends at the end of the subject.
func (d *dfa) endMatches(s *dstate) bool {
	ctx := context{
		atStart:  s.flags&fAtStart != 0,
		prevWord: s.flags&fPrevWord != 0,
		prevNL:   s.flags&fPrevNL != 0,
		atEnd:    true,
	}
	seen := make([]bool, len(d.insts))
	var here []int32
	found := false
	for _, pc := range s.insts {
		found = d.closure(pc, &ctx, seen, &here) || found
	}
	return d.closure(d.start, &ctx, seen, &here) || found
}

// slowStep computes and remembers the step from the state at off in tab
// that column col of its row holds: a symbol's (sym), or a final newline's
// (finalNL). It returns the current table and the next state's offset there
// (or dfaMatched).
func (d *dfa) slowStep(tab *dtable, off, col int32, sym uint16, finalNL bool) (*dtable, int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	tab, s := d.current(tab, off)
	if n := atomic.LoadInt32(&tab.t[s.off+col]); n != dfaUnknown {
		return tab, untag(n)
	}
	next := d.step(s, sym, finalNL)
	n := next.off
	if d.skipTo != nil && next != matched && len(next.insts) == 0 {
		n = idleTag(n)
	}
	// step may have added a state, and so a bigger table, or started
	// over, which drops s: write where s now is.
	tab = d.tab.Load()
	if s.gen == d.gen {
		atomic.StoreInt32(&tab.t[s.off+col], n)
	}
	return tab, untag(n)
}

// scanKnown follows the table from the state at off through s while the
// characters are ASCII and their steps known, and returns how many it
// read, the state reached, and whether a match was seen. In an idle state
// (a tagged step, see idleTag) it jumps over the bytes that lead (the
// DFA's skipTo) does not mark. It is a function of its own, with no calls,
// so that its loop keeps everything in registers: in match's loop, which
// calls the slow paths, the state and table went to memory at every byte.
//
//go:noinline
func scanKnown(t []int32, sym *[128]uint16, lead *[256]bool, s string, start int32) (n int, _ int32, hit bool) {
	off := int(start)
	for n = 0; n < len(s); n++ {
		c := s[n]
		if c >= utf8.RuneSelf {
			break
		}
		next := int(atomic.LoadInt32(&t[off+int(sym[c])]))
		if next > dfaUnknown {
			off = next
			continue
		}
		if next == dfaMatched {
			return n, int32(off), true
		}
		if next == dfaUnknown {
			break
		}
		off = -2 - next // idle after s[n]
		j := n + 1
		for j < len(s) && !lead[s[j]] {
			j++
		}
		if j > n+1 {
			// s[j-1] is ASCII and cannot begin a match: its step from
			// any idle state, this one too, leads where the run's last
			// idle state's would. Taken when known; when not, the scan
			// goes on with that step from here, to be computed (going on
			// from s[n+1] instead would find this run again at each of
			// its bytes: time in the square of its length).
			if v := int(atomic.LoadInt32(&t[off+int(sym[s[j-1]])])); v < dfaMatched {
				off, n = -2-v, j-1
			} else {
				n = j - 2
			}
		}
	}
	return n, int32(off), false
}

// match reports whether the pattern matches anywhere in s (valid UTF-8).
func (d *dfa) match(s string) bool {
	tab := d.tab.Load()
	t, off := tab.t, int32(d.stride) // row 1: the start state
	// A final newline is stepped over apart (see below), since $ matches
	// before it.
	stop := len(s)
	if d.hasDollar && len(s) > 0 && s[len(s)-1] == '\n' {
		stop--
	}
	i := 0
	for {
		k, next, hit := scanKnown(t, &d.asciiSym, d.skipTo, s[i:stop], off)
		if hit {
			return true
		}
		if i, off = i+k, next; i == stop {
			break
		}
		// A character that is not ASCII, or a step not yet in the table.
		c := s[i]
		var sym uint16
		if c < utf8.RuneSelf {
			sym = d.asciiSym[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			sym = d.symbol(r)
			i += size
		}
		n := atomic.LoadInt32(&t[off+int32(sym)])
		switch n {
		case dfaMatched:
			return true
		case dfaUnknown:
			if tab, n = d.slowStep(tab, off, int32(sym), sym, false); n == dfaMatched {
				return true
			}
			t = tab.t
		}
		off = untag(n)
	}
	if i < len(s) {
		// A final "\n", before which $ also matches.
		col := int32(d.stride) - 2
		n := atomic.LoadInt32(&t[off+col])
		if n == dfaUnknown {
			tab, n = d.slowStep(tab, off, col, d.nlSym, true)
			t = tab.t
		}
		if n == dfaMatched {
			return true
		}
		off = untag(n)
	}
	end := &t[off+int32(d.stride)-1]
	switch atomic.LoadInt32(end) {
	case 1:
		return true
	case 2:
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// The state of the row read, whatever its generation: only its
	// instructions and flags matter here.
	ok := d.endMatches(tab.list[int(off)/d.stride])
	// The answer belongs to the state's row in the table read, whichever
	// table is current now.
	if ok {
		atomic.StoreInt32(end, 1)
	} else {
		atomic.StoreInt32(end, 2)
	}
	return ok
}
