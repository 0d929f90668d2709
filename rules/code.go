package rules

import (
	"math"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// A Set runs its filters' boolean skeletons from one array of instructions
// rather than through their trees of closures. An action runs 444 filters
// whose code is no longer in the CPU's caches, and in a tree of closures
// every & operand, comparison and ! is a closure of its own: an indirect
// call to code elsewhere, with its captured state in an object elsewhere
// again. Here a filter's skeleton sits in a few adjacent cache lines and
// one loop runs it: chains of & and | with their short-circuits, !, if,
// a builtin variable compared with a constant, keyword operators whose
// answers the action shares, and keyword operators between a builtin
// variable and a constant (a constant regex among them). On a 512 KB L2
// that made an action 5 % faster for as many instructions: what it saves
// is cache lines (docs/performance.md, twenty-third session). Everything
// else (calls, assignments, arithmetic, regexes held in variables) stays a
// closure, which an instruction calls: the closures remain the whole
// evaluator, which Program and check-syntax mode use, and which the
// instructions must agree with (WithoutCode).
//
// The instructions work on one register, the truth so far (tri), the way
// the closures' tests do; an error ends the filter at once.

type opcode uint8

const (
	opConst          opcode = iota // t = tri(x)
	opCall                         // t = fn(s)
	opBuiltin                      // t = the truth of builtin variable slot
	opCompare                      // t = builtin slot cmp the constant (x when it is a plain int, else *p)
	opStatic                       // t = static keyword operator x, evaluated by fn (see staticKeyword)
	opRegex                        // t = builtin slot rlike the constant pattern of the regex site p
	opKeyword                      // t = builtin slot (the right operand with flagRight) op the constant, both in p (a *keywordLeaf)
	opNot                          // t = !t
	opNorm                         // t = t is true (an operand of & and | after the first)
	opJumpUnlessTrue               // if t is not true, jump x ahead
	opJump                         // jump x ahead; x == 0: return t
)

// Flags of an instruction.
const (
	// flagSkip: before the instruction runs, a short-circuit may skip
	// it: when t is false and flagAnd is set, or t is true and it is not,
	// execution goes skip instructions ahead (skip == 0: returns), keeping
	// t. It starts the code of an operand of & or | after the first.
	flagSkip = 1 << iota
	flagAnd
	// flagNorm: after it runs, t becomes whether t is true (opNorm fused
	// into an operand that is one instruction).
	flagNorm
	// flagLast: after it runs, the code returns t.
	flagLast
	// flagInt: opCompare's constant is the plain int x.
	flagInt
	// flagRight: opKeyword's builtin variable is its right operand.
	flagRight
)

// instr is one instruction: 32 bytes, two to a cache line.
type instr struct {
	op    opcode
	flags uint8
	flip  tri // a leaf's result is negated when 1 (see tri.flip)
	slot  uint8
	cmp   syntax.Token
	// inner, for opStatic, is the instruction that runs in its place when
	// its answer is not shared; 0 (opConst, never one) when fn does.
	inner opcode
	skip  uint16 // see flagSkip
	x     int64
	p     unsafe.Pointer
	fn    testFn
}

// compare is opCompare, which the closure of the same comparison runs too.
func (in *instr) compare(s *State) (tri, error) {
	a := s.builtinVar(in.slot)
	if err := s.countCondition(); err != nil {
		return triUndef, err
	}
	if ai, ok := a.PlainInt(); ok && in.flags&flagInt != 0 {
		return triBool(compareInts(in.cmp, ai, in.x)).flip(in.flip), nil
	}
	return compareConst(in.cmp, a, *(*value.Value)(in.p)).flip(in.flip), nil
}

// keywordLeaf is what an opKeyword needs besides its builtin variable.
type keywordLeaf struct {
	op    keywordOp
	konst value.Value
}

// keywordLeafOf is the instruction of a keyword operator between a
// builtin variable and a constant, either way round; ok is false for other
// operands.
func keywordLeafOf(op keywordOp, l, r node) (in instr, ok bool) {
	switch {
	case l.isBuiltin && r.konst:
		return instr{op: opKeyword, slot: l.slot, p: unsafe.Pointer(&keywordLeaf{op, r.val})}, true
	case l.konst && r.isBuiltin:
		return instr{op: opKeyword, slot: r.slot, flags: flagRight, p: unsafe.Pointer(&keywordLeaf{op, l.val})}, true
	}
	return instr{}, false
}

// staticKeyword is a keyword operator whose operands are the same in all
// of an action's filters (see compiler.keyword): the first answer serves
// the others, at one condition each. test evaluates it.
func staticKeyword(s *State, id int, test testFn) (tri, error) {
	if s.check || !s.sharedStatic(id) {
		// No other use of the same operator in the set would read a
		// remembered answer: evaluating is all there is to do.
		return test(s)
	}
	if v, ok := s.staticHit(id); ok {
		if err := s.countCondition(); err != nil {
			return triUndef, err
		}
		return triOf(v), nil
	}
	t, err := test(s)
	if err == nil {
		s.staticPut(id, t.value())
	}
	return t, err
}

// exec runs the code at pc until it returns. The array ends with an
// instruction flagged last, so pc never leaves it (emitter.finish).
func (set *Set) exec(s *State, pc uint32) (tri, error) {
	base := unsafe.Pointer(unsafe.SliceData(set.code))
	var t tri
	for {
		in := (*instr)(unsafe.Add(base, uintptr(pc)*unsafe.Sizeof(instr{})))
		if in.flags&flagSkip != 0 && (t == triTrue) != (in.flags&flagAnd != 0) {
			if in.skip == 0 {
				return t, nil
			}
			pc += uint32(in.skip)
			continue
		}
		switch in.op {
		case opConst:
			t = tri(in.x)
		case opCall:
			w, err := in.fn(s)
			if err != nil {
				return w, err
			}
			t = w.flip(in.flip)
		case opBuiltin:
			t = triOf(s.builtinVar(in.slot)).flip(in.flip)
		case opCompare:
			w, err := in.compare(s)
			if err != nil {
				return w, err
			}
			t = w
		case opStatic:
			w, err := staticKeyword(s, int(in.x), in.fn)
			if err != nil {
				return w, err
			}
			t = w.flip(in.flip)
		case opRegex:
			site := (*regexSite)(in.p)
			w, err := site.test(s, s.builtinVar(in.slot), site.pattern)
			if err != nil {
				return w, err
			}
			t = w.flip(in.flip)
		case opKeyword:
			k := (*keywordLeaf)(in.p)
			a, b := s.builtinVar(in.slot), k.konst
			if in.flags&flagRight != 0 {
				a, b = b, a
			}
			w, err := applyKeyword(s, k.op, a, b)
			if err != nil {
				return w, err
			}
			t = w.flip(in.flip)
		case opNot:
			t = t.not()
		case opNorm:
			t = triBool(t == triTrue)
		case opJumpUnlessTrue:
			if t != triTrue {
				pc += uint32(in.x)
				continue
			}
		case opJump:
			if in.x == 0 {
				return t, nil
			}
			pc += uint32(in.x)
			continue
		}
		if in.flags&(flagNorm|flagLast) != 0 {
			if in.flags&flagNorm != 0 {
				t = triBool(t == triTrue)
			}
			if in.flags&flagLast != 0 {
				return t, nil
			}
		}
		pc++
	}
}

// A node's test as code, before it is laid out in a Set's array: a tree
// of the skeleton's shapes with instructions at the leaves.
type tcode struct {
	kind  tkind
	leaf  instr   // tLeaf
	kids  []tcode // tNot: the operand; tCond: condition, then and else if any; tChain: the operands; tSeq: what runs in turn
	isAnd []bool  // tChain: the operator before kids[i+1]
}

type tkind uint8

const (
	tLeaf tkind = iota
	tNot
	tCond
	tChain
	tSeq // the kids one after the other; the last one gives the truth
)

func leafCode(in instr) tcode { return tcode{kind: tLeaf, leaf: in} }

// codeOf returns n's test as code: its own, or its test function called
// by one instruction.
func (n node) codeOf() tcode {
	switch {
	case n.code != nil:
		return *n.code
	case n.hasLeaf:
		return leafCode(n.leaf)
	case n.konst:
		return leafCode(instr{op: opConst, x: int64(triOf(n.val))})
	}
	return leafCode(instr{op: opCall, fn: n.tester()})
}

// codeRef is codeOf, allocated where n has no code of its own.
func (n node) codeRef() *tcode {
	if n.code != nil {
		return n.code
	}
	c := n.codeOf()
	return &c
}

// chainCode is the code of a chain of & and | (isAnd[i] tells the
// operator before nodes[i+1]), as logicTest is its test.
func chainCode(nodes []node, isAnd []bool) *tcode {
	if len(nodes) == 1 {
		return nodes[0].codeRef()
	}
	c := &tcode{kind: tChain, isAnd: isAnd, kids: make([]tcode, len(nodes))}
	for i, n := range nodes {
		c.kids[i] = n.codeOf()
	}
	return c
}

// setNotCode makes n's code that of !arg, whose test is argTest.
func (n *node) setNotCode(arg node, argTest testFn) {
	switch {
	case arg.code != nil:
		n.code = &tcode{kind: tNot, kids: []tcode{*arg.code}}
	case arg.hasLeaf:
		// A leaf negates its result as it runs.
		n.leaf, n.hasLeaf = arg.leaf, true
		n.leaf.flip ^= 1
	default: // a call of argTest (a constant is folded before the code is read)
		n.leaf, n.hasLeaf = instr{op: opCall, fn: argTest, flip: 1}, true
	}
}

// maxCode bounds a Set's array, so that an offset into it fits in a
// uint32 with room to spare.
const maxCode = math.MaxInt32

// emitter lays out code in a Set's array.
type emitter struct {
	code []instr
	// shared is the Set's staticShared: the static keyword operators
	// whose answers an action remembers.
	shared []uint64
	// jumps are the jumps and short-circuits of the code being laid out,
	// patched when it is done, since a jump to its end returns instead.
	jumps  []jump
	starts []int // see emitChain
}

// jump is an instruction at that jumps or skips to target.
type jump struct{ at, target int }

// emitTest lays out c and returns where it starts, or an opCall of test
// alone when c is nil or does not fit.
func (e *emitter) emitTest(c *tcode, test testFn) uint32 {
	start := len(e.code)
	if c != nil {
		e.jumps = e.jumps[:0]
		e.emit(c)
		if e.finish(start) {
			return uint32(start)
		}
		e.code = e.code[:start]
	}
	e.code = append(e.code, instr{op: opCall, fn: test, flags: flagLast})
	return uint32(start)
}

// finish ends the code laid out from start: its last instruction
// returns, and so does a jump to its end. It reports false when the code
// does not fit: the array would grow too long, or a short-circuit would
// skip further than instr.skip can say (a chain with a huge operand); the
// caller then runs the test through its closures.
func (e *emitter) finish(start int) bool {
	end := len(e.code)
	if end >= maxCode {
		return false
	}
	e.code[end-1].flags |= flagLast
	for _, j := range e.jumps {
		off := j.target - j.at
		if j.target == end {
			off = 0
		}
		in := &e.code[j.at]
		if in.flags&flagSkip == 0 {
			in.x = int64(off)
			continue
		}
		if off > math.MaxUint16 {
			return false
		}
		in.skip = uint16(off)
	}
	return true
}

// leaf is the instruction for leaf: a static keyword operator whose
// answer no other filter reads is only its evaluation, as staticKeyword
// would run it: its inner instruction when it has one, else its test
// function.
func (e *emitter) leaf(in instr) instr {
	if in.op != opStatic || staticIsShared(e.shared, int(in.x)) {
		return in
	}
	if in.inner != 0 {
		in.op = in.inner
	} else {
		in.op = opCall
	}
	return in
}

func (e *emitter) emit(c *tcode) {
	switch c.kind {
	case tLeaf:
		e.code = append(e.code, e.leaf(c.leaf))
	case tNot:
		e.emit(&c.kids[0])
		e.code = append(e.code, instr{op: opNot})
	case tCond:
		e.emit(&c.kids[0])
		jumpElse := len(e.code)
		e.code = append(e.code, instr{op: opJumpUnlessTrue})
		e.emit(&c.kids[1])
		jumpEnd := len(e.code)
		e.code = append(e.code, instr{op: opJump})
		e.jumps = append(e.jumps, jump{jumpElse, len(e.code)})
		if len(c.kids) == 3 {
			e.emit(&c.kids[2])
		} else {
			e.code = append(e.code, instr{op: opConst, x: int64(triFalse)}) // an if without else is null
		}
		e.jumps = append(e.jumps, jump{jumpEnd, len(e.code)})
	case tChain:
		e.emitChain(c)
	case tSeq:
		for i := range c.kids {
			e.emit(&c.kids[i])
		}
	}
}

// emitChain lays out a chain of & and | as logicTest runs it: each
// operand after the first starts with its short-circuit, which skips the
// run of operands with the same operator, and ends by making the value
// its truth.
func (e *emitter) emitChain(c *tcode) {
	e.emit(&c.kids[0])
	// Where each operand starts, and the chain's end: kept on a stack in
	// e, which the operands' own chains use above this one's.
	base := len(e.starts)
	e.starts = append(e.starts, make([]int, len(c.kids)+1)...)
	for i := 1; i < len(c.kids); i++ {
		start := len(e.code)
		e.starts[base+i] = start
		e.emit(&c.kids[i])
		if len(e.code) == start+1 && c.kids[i].kind == tLeaf {
			e.code[start].flags |= flagNorm
		} else {
			e.code = append(e.code, instr{op: opNorm})
		}
	}
	e.starts[base+len(c.kids)] = len(e.code)
	// A false value skips every & up to the next |, and a true one every
	// | up to the next &: operand i skips to operand to, found from the
	// right so that a long chain costs no more than its length.
	to := len(c.kids)
	for i := len(c.kids) - 1; i >= 1; i-- {
		if i+1 < len(c.kids) && c.isAnd[i] != c.isAnd[i-1] {
			to = i + 1
		}
		in := &e.code[e.starts[base+i]]
		in.flags |= flagSkip
		if c.isAnd[i-1] {
			in.flags |= flagAnd
		}
		e.jumps = append(e.jumps, jump{e.starts[base+i], e.starts[base+to]})
	}
	e.starts = e.starts[:base]
}
