package pcre

import "unicode"

// The exact engine: the syntax tree is compiled to instructions for a
// backtracking machine (vm.go) that follows PCRE2's matching order.

type iop uint8

const (
	iMatch       iop = iota // the whole pattern matched
	iSucceed                // end of a subprogram (atomic group, lookaround, subroutine)
	iRune                   // r
	iRuneFold               // r, caseless
	iClass                  // cls
	iAny                    // any character
	iAnyNotNL               // any character but \n
	iSplit                  // try x, then y
	iJmp                    // go to x
	iSave                   // capture slot n := position
	iAssert                 // assertion n (assertKind)
	iBackref                // group n, fold
	iRepeat                 // a single-character item (char) repeated min..max
	iLoopMark               // register n := position
	iLoopCheck              // if position == register n go to x (leave the loop) else y
	iAtomic                 // run subprogram x atomically
	iLook                   // lookaround: ahead runs x; behind runs alts
	iRecurse                // subroutine call of group n at subprogram x
	iCondRef                // if group n is set go to x else y
	iCondLook               // if the lookaround (look) matches go to x else y
	iCondRecurse            // if inside a recursion go to x else y
	iKeep                   // \K: the match starts here
	iFail                   // (*FAIL)
	iAccept                 // (*ACCEPT)
	iCommit                 // (*COMMIT)
	iPrune                  // (*PRUNE), (*THEN)
	iSkip                   // (*SKIP)
	iRepeatUnit             // (unit)\n{k}: see unitRepeat
)

type inst struct {
	op         iop
	fold       bool
	greedy     bool
	possessive bool
	negate     bool
	behind     bool
	r          rune
	cls        *class
	x, y, n    int
	min, max   int
	char       *inst     // iRepeat: the repeated single-character item
	alts       []lookAlt // iLook behind: one subprogram per branch, with its length
	look       *inst     // iCondLook: the lookaround
	unit       []*inst   // iRepeatUnit with a fixed sequence of single characters
	caps       []int     // iBackref, iCondRef: the groups of a duplicated name
}

type lookAlt struct {
	length int // in characters
	pc     int
}

type prog struct {
	insts []inst
	ncap  int
	nreg  int
}

// maxProgSize bounds a compiled program, as PCRE2 bounds compiled patterns.
const maxProgSize = 1 << 18

type compiler struct {
	p      *prog
	groups map[int]*node // capture groups by number, for subroutine calls
	calls  map[int]int   // group number -> subprogram pc
	todo   []int         // group numbers whose subprograms are still to compile
	root   *node
}

// progBound is an upper bound on the instructions compileProg emits for n
// (without recursion, which compiles groups again), saturating at
// maxProgSize.
func progBound(n *node) int {
	if n == nil {
		return 0
	}
	if isChar(n) {
		return 1
	}
	sum := 4
	for _, s := range n.subs {
		sum += progBound(s) + 2
	}
	sum += 2 * progBound(n.condLook)
	if n.op == opLook && n.behind {
		sum *= 2 // one subprogram per branch
	}
	if n.op == opRepeat {
		copies := n.min + 1
		if n.max > n.min {
			copies = n.max + 1
		}
		if sum > maxProgSize/copies {
			return maxProgSize
		}
		sum *= copies
	}
	return min(sum, maxProgSize)
}

func hasRecursion(n *node) bool {
	if n == nil {
		return false
	}
	if n.op == opRecurse {
		return true
	}
	for _, s := range n.subs {
		if hasRecursion(s) {
			return true
		}
	}
	return hasRecursion(n.condLook)
}

func compileProg(root *node, ncap int) (_ *prog, err error) {
	// emit stops a program that outgrows maxProgSize with a panic, which
	// progBound's estimate does not always foresee.
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	c := &compiler{p: &prog{ncap: ncap}, groups: map[int]*node{}, calls: map[int]int{}, root: root}
	collectGroups(root, c.groups)
	c.compile(root)
	c.emit(inst{op: iMatch})
	for len(c.todo) > 0 {
		n := c.todo[0]
		c.todo = c.todo[1:]
		start := len(c.p.insts)
		if n == 0 {
			c.compile(root)
		} else {
			c.compile(c.groups[n])
		}
		c.emit(inst{op: iSucceed})
		c.patchCalls(n, start)
	}
	if len(c.p.insts) > maxProgSize {
		return nil, &Error{0, "regular expression is too large"}
	}
	return c.p, nil
}

func collectGroups(n *node, m map[int]*node) {
	if n == nil {
		return
	}
	if n.op == opGroup && n.cap > 0 {
		if _, ok := m[n.cap]; !ok {
			m[n.cap] = n
		}
	}
	for _, s := range n.subs {
		collectGroups(s, m)
	}
	collectGroups(n.condLook, m)
}

// collectAllGroups maps each group number to every group that has it.
func collectAllGroups(n *node, m map[int][]*node) {
	if n == nil {
		return
	}
	if n.op == opGroup && n.cap > 0 {
		m[n.cap] = append(m[n.cap], n)
	}
	for _, s := range n.subs {
		collectAllGroups(s, m)
	}
	collectAllGroups(n.condLook, m)
}

func (c *compiler) emit(i inst) int {
	c.p.insts = append(c.p.insts, i)
	if len(c.p.insts) > maxProgSize {
		panic(&Error{0, "regular expression is too large"})
	}
	return len(c.p.insts) - 1
}

func (c *compiler) pc() int { return len(c.p.insts) }

// subprogram compiles n as a separate routine ending in iSucceed, placed
// after a jump so that straight-line code skips it. It returns its start.
func (c *compiler) subprogram(n *node) int {
	jmp := c.emit(inst{op: iJmp})
	start := c.pc()
	c.compile(n)
	c.emit(inst{op: iSucceed})
	c.p.insts[jmp].x = c.pc()
	return start
}

// charInst returns the instruction matching a single-character node, or
// nil when n is not one.
func charInst(n *node) *inst {
	switch n.op {
	case opLiteral:
		if n.fold && hasFold(n.r) {
			return &inst{op: iRuneFold, r: n.r}
		}
		return &inst{op: iRune, r: n.r}
	case opClass:
		return &inst{op: iClass, cls: n.cls}
	case opAny:
		if n.dotall {
			return &inst{op: iAny}
		}
		return &inst{op: iAnyNotNL}
	}
	return nil
}

// isChar reports whether n matches exactly one character (charInst is not
// nil), without building the instruction.
func isChar(n *node) bool {
	switch n.op {
	case opLiteral, opClass, opAny:
		return true
	}
	return false
}

func hasFold(r rune) bool { return unicode.SimpleFold(r) != r }

func (c *compiler) compile(n *node) {
	if ci := charInst(n); ci != nil {
		c.emit(*ci)
		return
	}
	switch n.op {
	case opEmpty:
	case opConcat:
		for i := 0; i < len(n.subs); i++ {
			if in, used := unitRepeat(n.subs[i:]); used > 0 {
				c.emit(in)
				i += used - 1
				continue
			}
			c.compile(n.subs[i])
		}
	case opAlt:
		var ends []int
		for i, s := range n.subs {
			if i == len(n.subs)-1 {
				c.compile(s)
				break
			}
			split := c.emit(inst{op: iSplit})
			c.p.insts[split].x = c.pc()
			c.compile(s)
			ends = append(ends, c.emit(inst{op: iJmp}))
			c.p.insts[split].y = c.pc()
		}
		for _, j := range ends {
			c.p.insts[j].x = c.pc()
		}
	case opRepeat:
		c.repeat(n)
	case opGroup:
		if n.cap == 0 {
			c.compile(n.sub())
			return
		}
		c.emit(inst{op: iSave, n: 2 * n.cap})
		c.compile(n.sub())
		c.emit(inst{op: iSave, n: 2*n.cap + 1})
	case opAtomic:
		c.emit(inst{op: iAtomic, x: c.subprogram(n.sub())})
	case opLook:
		c.emit(c.lookInst(n))
	case opAssert:
		c.emit(inst{op: iAssert, n: int(n.assert)})
	case opBackref:
		c.emit(inst{op: iBackref, n: n.cap, fold: n.fold, caps: n.groups()})
	case opRecurse:
		c.emit(inst{op: iRecurse, n: n.cap, x: c.call(n.cap)})
	case opCond:
		c.cond(n)
	case opKeep:
		c.emit(inst{op: iKeep})
	case opVerb:
		switch n.verb {
		case verbFail:
			c.emit(inst{op: iFail})
		case verbAccept:
			c.emit(inst{op: iAccept})
		case verbCommit:
			c.emit(inst{op: iCommit})
		case verbPrune, verbThen:
			c.emit(inst{op: iPrune})
		case verbSkip:
			c.emit(inst{op: iSkip})
		}
	}
}

// unitRepeat recognises a group of single characters followed by
// backreferences to it: (X{a,b})\1{k}, (...)\1\1\1 and the like, which
// filters use to find repeated text. The general program would try every
// length of X with a round of pushes and pops; one instruction does the
// same search directly (longest X first, as the greedy repeat does). It
// returns the instruction and how many nodes it stands for, or 0.
func unitRepeat(subs []*node) (inst, int) {
	if len(subs) < 2 || subs[0].op != opGroup || subs[0].cap == 0 {
		return inst{}, 0
	}
	group := subs[0]
	in := inst{op: iRepeatUnit, n: group.cap}
	body := group.sub()
	switch {
	case body.op == opRepeat && body.greedy && !body.possessive && isChar(body.sub()) && body.min > 0:
		in.char, in.min, in.max = charInst(body.sub()), body.min, body.max
	case body.op == opConcat:
		for _, s := range body.subs {
			ci := charInst(s)
			if ci == nil {
				return inst{}, 0
			}
			in.unit = append(in.unit, ci)
		}
	default:
		if ci := charInst(body); ci != nil {
			in.unit = []*inst{ci}
			break
		}
		return inst{}, 0
	}
	used := 1
	for _, s := range subs[1:] {
		switch {
		case s.op == opBackref && s.cap == group.cap && !s.fold && s.caps == nil:
			in.x++
		case s.op == opRepeat && s.min == s.max && s.sub().op == opBackref && s.sub().cap == group.cap && !s.sub().fold && s.sub().caps == nil:
			in.x += s.min
		default:
			if in.x == 0 {
				return inst{}, 0
			}
			return in, used
		}
		used++
	}
	if in.x == 0 {
		return inst{}, 0
	}
	return in, used
}

func (c *compiler) lookInst(n *node) inst {
	if !n.behind {
		return inst{op: iLook, negate: n.negate, x: c.subprogram(n.sub())}
	}
	var alts []lookAlt
	for _, a := range alternatives(n.sub()) {
		l, _ := fixedLength(a)
		alts = append(alts, lookAlt{length: l, pc: c.subprogram(a)})
	}
	return inst{op: iLook, behind: true, negate: n.negate, alts: alts}
}

// call returns the subprogram pc for a subroutine call of group n,
// scheduling its compilation; -1 until patched.
func (c *compiler) call(n int) int {
	if pc, ok := c.calls[n]; ok {
		return pc
	}
	c.calls[n] = -1
	c.todo = append(c.todo, n)
	return -1
}

func (c *compiler) patchCalls(n, pc int) {
	c.calls[n] = pc
	for i := range c.p.insts {
		if c.p.insts[i].op == iRecurse && c.p.insts[i].n == n {
			c.p.insts[i].x = pc
		}
	}
}

func (c *compiler) cond(n *node) {
	yes := n.subs[0]
	var no *node
	if len(n.subs) > 1 {
		no = n.subs[1]
	}
	var branch int
	switch n.cond {
	case condDefine:
		// Never taken; its groups are only reachable through calls.
		return
	case condGroup:
		branch = c.emit(inst{op: iCondRef, n: n.cap, caps: n.groups()})
	case condRecursion:
		branch = c.emit(inst{op: iCondRecurse})
	case condAssert:
		look := c.lookInst(n.condLook)
		branch = c.emit(inst{op: iCondLook, look: &look})
	}
	c.p.insts[branch].x = c.pc()
	c.compile(yes)
	jmp := c.emit(inst{op: iJmp})
	c.p.insts[branch].y = c.pc()
	if no != nil {
		c.compile(no)
	}
	c.p.insts[jmp].x = c.pc()
}

func (c *compiler) repeat(n *node) {
	sub := n.sub()
	if ci := charInst(sub); ci != nil {
		c.emit(inst{op: iRepeat, char: ci, min: n.min, max: n.max, greedy: n.greedy, possessive: n.possessive})
		return
	}
	if n.possessive {
		inner := *n
		inner.possessive = false
		c.emit(inst{op: iAtomic, x: c.subprogram(&inner)})
		return
	}
	for i := 0; i < n.min; i++ {
		c.compile(sub)
	}
	if n.max < 0 {
		// Unbounded: a loop that stops when an iteration matches nothing.
		reg := c.p.nreg
		c.p.nreg++
		split := c.emit(inst{op: iSplit})
		body := c.pc()
		c.emit(inst{op: iLoopMark, n: reg})
		c.compile(sub)
		check := c.emit(inst{op: iLoopCheck, n: reg, y: split})
		exit := c.pc()
		c.p.insts[check].x = exit
		if n.greedy {
			c.p.insts[split].x, c.p.insts[split].y = body, exit
		} else {
			c.p.insts[split].x, c.p.insts[split].y = exit, body
		}
		return
	}
	var splits []int
	for i := n.min; i < n.max; i++ {
		s := c.emit(inst{op: iSplit})
		splits = append(splits, s)
		if n.greedy {
			c.p.insts[s].x = c.pc()
		} else {
			c.p.insts[s].y = c.pc()
		}
		c.compile(sub)
	}
	end := c.pc()
	for _, s := range splits {
		if n.greedy {
			c.p.insts[s].y = end
		} else {
			c.p.insts[s].x = end
		}
	}
}
