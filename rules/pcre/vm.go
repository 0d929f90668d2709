package pcre

import (
	"errors"
	"sync"
	"time"
	"unicode/utf8"
)

// ErrLimit is returned when a match needs more backtracking steps than its
// limit allows (PHP's pcre.backtrack_limit, which makes preg fail) or runs
// past its deadline.
var ErrLimit = errors.New("regex backtracking limit reached")

// frame kinds on the backtracking stack.
const (
	fBranch       = iota // resume at pc, pos
	fRestoreCap          // caps[n] = old
	fRestoreReg          // regs[n] = old
	fRepeatGreedy        // give back one character of the repeat at pc; n = lowest position
	fRepeatLazy          // take one more character of the repeat at pc; n = count so far
	fCommit              // backtracking past (*COMMIT): no match at all
	fPrune               // backtracking past (*PRUNE): no match at this start
	fSkip                // backtracking past (*SKIP): next start at pos
	fUnit                // try the unit of the iRepeatUnit at pc, starting at n, shorter than old bytes
)

type frame struct {
	kind   uint8
	pc     int
	pos    int
	n, old int
}

// control is set when a backtracking-control verb fires.
type control uint8

const (
	ctlNone control = iota
	ctlCommit
	ctlPrune
	ctlSkip
)

type machine struct {
	p        *prog
	s        string
	caps     []int
	regs     []int
	stack    []frame
	steps    int
	limit    int
	deadline time.Time

	attemptStart    int // where the current attempt started
	searchStart     int // \G
	notEmptyAtStart bool
	recursion       int
	ctl             control
	skipTo          int
	unitBuf         []int
}

var machinePool = sync.Pool{New: func() any { return new(machine) }}

type limitPanic struct{}

func (m *machine) reset(p *prog, s string) {
	m.p, m.s = p, s
	n := 2 * (p.ncap + 1)
	if cap(m.caps) < n {
		m.caps = make([]int, n)
	}
	m.caps = m.caps[:n]
	if cap(m.regs) < p.nreg {
		m.regs = make([]int, p.nreg)
	}
	m.regs = m.regs[:p.nreg]
	m.stack = m.stack[:0]
	m.recursion = 0
	m.ctl = ctlNone
}

func (m *machine) clearCaps() {
	for i := range m.caps {
		m.caps[i] = -1
	}
}

func (m *machine) step() {
	m.steps++
	if m.steps&0x3fff == 0 {
		if m.steps > m.limit || !m.deadline.IsZero() && time.Now().After(m.deadline) {
			panic(limitPanic{})
		}
	}
}

// matchChar matches one single-character instruction at pos.
func (m *machine) matchChar(in *inst, pos int) (int, bool) {
	s := m.s
	if pos >= len(s) {
		return 0, false
	}
	c := s[pos]
	if c < utf8.RuneSelf {
		switch in.op {
		case iRune:
			return pos + 1, rune(c) == in.r
		case iRuneFold:
			return pos + 1, foldEqual(rune(c), in.r)
		case iClass:
			return pos + 1, in.cls.ascii[c>>6]&(1<<(c&63)) != 0
		case iAny:
			return pos + 1, true
		case iAnyNotNL:
			return pos + 1, c != '\n'
		}
		return 0, false
	}
	r, size := utf8.DecodeRuneInString(s[pos:])
	switch in.op {
	case iRune:
		return pos + size, r == in.r
	case iRuneFold:
		return pos + size, foldEqual(r, in.r)
	case iClass:
		return pos + size, in.cls.contains(r)
	case iAny, iAnyNotNL:
		return pos + size, true
	}
	return 0, false
}

func (m *machine) push(f frame) { m.stack = append(m.stack, f) }

func (m *machine) setCap(n, pos int) {
	m.push(frame{kind: fRestoreCap, n: n, old: m.caps[n]})
	m.caps[n] = pos
}

func (m *machine) assert(kind assertKind, pos int) bool {
	s := m.s
	switch kind {
	case assertBOL, assertStart:
		return pos == 0
	case assertBOLMulti:
		return pos == 0 || s[pos-1] == '\n' && pos < len(s)
	case assertEOL, assertEndNL:
		return pos == len(s) || pos == len(s)-1 && s[pos] == '\n'
	case assertEOLDollarEnd, assertEnd:
		return pos == len(s)
	case assertEOLMulti:
		return pos == len(s) || s[pos] == '\n'
	case assertWord:
		return wordBefore(s, pos) != wordAt(s, pos)
	case assertNotWord:
		return wordBefore(s, pos) == wordAt(s, pos)
	case assertFirstPos:
		return pos == m.searchStart
	}
	return false
}

// backref matches the text of group n at pos.
// firstSet returns, for a reference to a duplicated name, the first of its
// groups that is set (PCRE2's rule); otherwise n.
func (m *machine) firstSet(n int, caps []int) int {
	for _, c := range caps {
		if 2*c+1 < len(m.caps) && m.caps[2*c+1] >= 0 {
			return c
		}
	}
	return n
}

func (m *machine) backref(n int, fold bool, pos int) (int, bool) {
	if 2*n+1 >= len(m.caps) {
		return 0, false
	}
	start, end := m.caps[2*n], m.caps[2*n+1]
	if start < 0 || end < 0 {
		return 0, false // an unset group never matches
	}
	ref := m.s[start:end]
	if !fold {
		if len(m.s)-pos >= len(ref) && m.s[pos:pos+len(ref)] == ref {
			return pos + len(ref), true
		}
		return 0, false
	}
	for _, r := range ref {
		if pos >= len(m.s) {
			return 0, false
		}
		c, size := utf8.DecodeRuneInString(m.s[pos:])
		if !foldEqual(r, c) {
			return 0, false
		}
		pos += size
	}
	return pos, true
}

// stepBack moves n characters back from pos.
func (m *machine) stepBack(pos, n int) (int, bool) {
	for ; n > 0; n-- {
		if pos == 0 {
			return 0, false
		}
		_, size := utf8.DecodeLastRuneInString(m.s[:pos])
		pos -= size
	}
	return pos, true
}

// sub runs a subprogram at pos as an independent, atomic match. On success
// the frames it left are reduced to the capture and register restores, so
// that backtracking past it still undoes what it set.
func (m *machine) sub(pc, pos int) (int, bool) {
	base := len(m.stack)
	end, ok := m.run(pc, pos, base)
	if !ok {
		return 0, false
	}
	keep := base
	for i := base; i < len(m.stack); i++ {
		if k := m.stack[i].kind; k == fRestoreCap || k == fRestoreReg {
			m.stack[keep] = m.stack[i]
			keep++
		}
	}
	m.stack = m.stack[:keep]
	return end, true
}

// look runs a lookaround instruction at pos and reports whether it holds.
func (m *machine) look(in *inst, pos int) bool {
	matched := false
	if !in.behind {
		_, matched = m.sub(in.x, pos)
	} else {
		for _, alt := range in.alts {
			start, ok := m.stepBack(pos, alt.length)
			if !ok {
				continue
			}
			if end, ok := m.sub(alt.pc, start); ok && end == pos {
				matched = true
				break
			}
		}
	}
	if m.ctl != ctlNone {
		return false
	}
	if in.negate {
		// When the assertion fails, the caller backtracks through the
		// restores the subprogram left, undoing what it captured.
		return !matched
	}
	return matched
}

// run executes from pc at pos until the program matches (returns the end
// position) or every alternative above stack base fails.
func (m *machine) run(pc, pos, base int) (int, bool) {
	insts := m.p.insts
	for {
		m.step()
		in := &insts[pc]
		switch in.op {
		case iRune, iRuneFold, iClass, iAny, iAnyNotNL:
			if np, ok := m.matchChar(in, pos); ok {
				pos, pc = np, pc+1
				continue
			}
		case iSplit:
			m.push(frame{kind: fBranch, pc: in.y, pos: pos})
			pc = in.x
			continue
		case iJmp:
			pc = in.x
			continue
		case iSave:
			m.setCap(in.n, pos)
			pc++
			continue
		case iAssert:
			if m.assert(assertKind(in.n), pos) {
				pc++
				continue
			}
		case iBackref:
			if np, ok := m.backref(m.firstSet(in.n, in.caps), in.fold, pos); ok {
				pos, pc = np, pc+1
				continue
			}
		case iRepeat:
			if np, ok := m.repeat(pc, in, pos); ok {
				pos, pc = np, pc+1
				continue
			}
		case iLoopMark:
			m.push(frame{kind: fRestoreReg, n: in.n, old: m.regs[in.n]})
			m.regs[in.n] = pos
			pc++
			continue
		case iLoopCheck:
			if pos == m.regs[in.n] {
				pc = in.x
			} else {
				pc = in.y
			}
			continue
		case iAtomic:
			if np, ok := m.sub(in.x, pos); ok {
				pos, pc = np, pc+1
				continue
			}
			if m.ctl != ctlNone {
				return m.abandon(base)
			}
		case iLook:
			if m.look(in, pos) {
				pc++
				continue
			}
			if m.ctl != ctlNone {
				return m.abandon(base)
			}
		case iRecurse:
			if np, ok := m.recurse(in, pos); ok {
				pos, pc = np, pc+1
				continue
			}
			if m.ctl != ctlNone {
				return m.abandon(base)
			}
		case iCondRef:
			if n := m.firstSet(in.n, in.caps); 2*n+1 < len(m.caps) && m.caps[2*n+1] >= 0 {
				pc = in.x
			} else {
				pc = in.y
			}
			continue
		case iCondLook:
			if m.look(in.look, pos) {
				pc = in.x
			} else {
				if m.ctl != ctlNone {
					return m.abandon(base)
				}
				pc = in.y
			}
			continue
		case iCondRecurse:
			if m.recursion > 0 {
				pc = in.x
			} else {
				pc = in.y
			}
			continue
		case iKeep:
			m.setCap(0, pos)
			pc++
			continue
		case iMatch:
			if !(m.notEmptyAtStart && pos == m.attemptStart) {
				return pos, true
			}
		case iSucceed, iAccept:
			return pos, true
		case iRepeatUnit:
			if np, ok := m.repeatUnit(pc, in, pos, -1); ok {
				pos, pc = np, pc+1
				continue
			}
		case iCommit:
			m.push(frame{kind: fCommit})
			pc++
			continue
		case iPrune:
			m.push(frame{kind: fPrune})
			pc++
			continue
		case iSkip:
			m.push(frame{kind: fSkip, pos: pos})
			pc++
			continue
		case iFail:
		}
		// Backtrack.
		var ok bool
		if pc, pos, ok = m.backtrack(base); !ok {
			return 0, false
		}
	}
}

// abandon fails the current run after a control verb fired in a subprogram.
func (m *machine) abandon(base int) (int, bool) {
	m.stack = m.stack[:base]
	return 0, false
}

// backtrack pops frames down to base until one gives a place to resume.
func (m *machine) backtrack(base int) (pc, pos int, ok bool) {
	for len(m.stack) > base {
		m.step()
		f := m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-1]
		switch f.kind {
		case fBranch:
			return f.pc, f.pos, true
		case fRestoreCap:
			m.caps[f.n] = f.old
		case fRestoreReg:
			m.regs[f.n] = f.old
		case fRepeatGreedy:
			_, size := utf8.DecodeLastRuneInString(m.s[:f.pos])
			np := f.pos - size
			if np > f.n {
				m.push(frame{kind: fRepeatGreedy, pc: f.pc, pos: np, n: f.n})
			}
			return f.pc + 1, np, true
		case fRepeatLazy:
			in := &m.p.insts[f.pc]
			if in.max >= 0 && f.n >= in.max {
				continue
			}
			np, ok := m.matchChar(in.char, f.pos)
			if !ok {
				continue
			}
			if in.max < 0 || f.n+1 < in.max {
				m.push(frame{kind: fRepeatLazy, pc: f.pc, pos: np, n: f.n + 1})
			}
			return f.pc + 1, np, true
		case fUnit:
			in := &m.p.insts[f.pc]
			if np, ok := m.repeatUnit(f.pc, in, f.n, f.old); ok {
				return f.pc + 1, np, true
			}
		case fCommit:
			m.ctl = ctlCommit
			m.stack = m.stack[:base]
			return 0, 0, false
		case fPrune:
			m.ctl = ctlPrune
			m.stack = m.stack[:base]
			return 0, 0, false
		case fSkip:
			m.ctl, m.skipTo = ctlSkip, f.pos
			m.stack = m.stack[:base]
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// repeat matches a repeated single-character item at pos.
func (m *machine) repeat(pc int, in *inst, pos int) (int, bool) {
	p, count := pos, 0
	if !in.greedy && !in.possessive {
		for ; count < in.min; count++ {
			np, ok := m.matchChar(in.char, p)
			if !ok {
				return 0, false
			}
			p = np
		}
		if in.max < 0 || count < in.max {
			m.push(frame{kind: fRepeatLazy, pc: pc, pos: p, n: count})
		}
		return p, true
	}
	minPos := pos
	for in.max < 0 || count < in.max {
		np, ok := m.matchChar(in.char, p)
		if !ok {
			break
		}
		p = np
		count++
		if count == in.min {
			minPos = p
		}
		if count&0xff == 0 {
			m.step()
		}
	}
	if count < in.min {
		return 0, false
	}
	if !in.possessive && p > minPos {
		m.push(frame{kind: fRepeatGreedy, pc: pc, pos: p, n: minPos})
	}
	return p, true
}

// repeatUnit runs an iRepeatUnit at start: the group takes the longest
// unit (shorter than below bytes when below >= 0) whose text repeats x more
// times right after it.
func (m *machine) repeatUnit(pc int, in *inst, start, below int) (int, bool) {
	s := m.s
	// ends holds the possible end positions of the unit, shortest first.
	ends := m.unitBuf[:0]
	p := start
	if in.unit != nil {
		for _, ci := range in.unit {
			np, ok := m.matchChar(ci, p)
			if !ok {
				return 0, false
			}
			p = np
		}
		ends = append(ends, p)
	} else {
		for count := 0; in.max < 0 || count < in.max; {
			np, ok := m.matchChar(in.char, p)
			if !ok {
				break
			}
			p = np
			if count++; count >= in.min {
				ends = append(ends, p)
			}
		}
	}
	m.unitBuf = ends
	m.steps += len(ends)
	for k := len(ends) - 1; k >= 0; k-- {
		end := ends[k]
		n := end - start
		if below >= 0 && n >= below {
			continue
		}
		// The text after the unit must start like the unit.
		if len(s)-end < n*in.x || s[end] != s[start] {
			continue
		}
		unit := s[start:end]
		p, ok := end, true
		for r := 0; r < in.x; r++ {
			if s[p:p+n] != unit {
				ok = false
				break
			}
			p += n
		}
		if !ok {
			continue
		}
		if k > 0 {
			m.push(frame{kind: fUnit, pc: pc, n: start, old: n})
		}
		m.setCap(2*in.n, start)
		m.setCap(2*in.n+1, end)
		return p, true
	}
	return 0, false
}

// maxRecursion bounds nested subroutine calls.
const maxRecursion = 1000

// recurse runs a subroutine call. As in PCRE2, captures set during the call
// are restored afterwards.
func (m *machine) recurse(in *inst, pos int) (int, bool) {
	if m.recursion >= maxRecursion {
		panic(limitPanic{})
	}
	saved := append([]int(nil), m.caps...)
	base := len(m.stack)
	m.recursion++
	end, ok := m.run(in.x, pos, base)
	m.recursion--
	m.stack = m.stack[:base]
	copy(m.caps, saved)
	return end, ok
}
