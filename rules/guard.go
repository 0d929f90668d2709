package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/vigilwiki/vigil/rules/syntax"
)

// Most filters open with guards: "page_namespace == 0 & !("confirmed" in
// user_groups) & (action == "edit" & (...". Of the 444 real filters, 398
// are a chain of & (parentheses aside) whose first operands read only
// constants and builtin variables, and those operands repeat: 926 of them
// (up to three per filter) with 370 distinct meanings. Their answer is
// the same in every filter of an action, so a Set answers each distinct
// guard once per action and charges its conditions again at every later
// use, as AbuseFilter's evaluation of it would; and a filter whose guard
// is false is decided in the filter loop from that answer, without
// running any of its own code, which on a cold cache is most of its cost.
// On an anonymous edit (ip_adds_casino_link) 740 guards are asked, 264
// evaluated, and 238 filters decided so.
//
// A guard has no side effects an action could see: no user variables (a
// filter may assign them), no function calls (AbuseFilter's function cache
// charges a repeated call nothing, so its conditions depend on what ran
// before), no + (it may build strings, which the allocation budget charges
// at every evaluation). When a guard fails with an error (the condition limit, a regex
// that runs too long), the filter runs from its start as written, so that
// the error and its position are its own.

// guard is one of a program's leading guards.
type guard struct {
	key  string // the same for guards with the same meaning
	test testFn
	code *tcode // test as code, until a Set has laid it out
}

// guardKey names a side-effect-free expression by its meaning: equal keys,
// equal answers within an action. ok is false when x may have effects
// (assignments, user variables, calls) or builds strings (+).
func guardKey(x syntax.Expr) (key string, ok bool) {
	if !mayGuard(x) {
		return "", false
	}
	var buf [128]byte
	return string(appendGuardKey(buf[:0], x)), true
}

// mayGuard reports whether x holds nothing that keeps it from being a
// guard.
func mayGuard(x syntax.Expr) bool {
	ok := true
	syntax.Inspect(x, func(x syntax.Expr) bool {
		switch x := x.(type) {
		case *syntax.Call, *syntax.Assign, *syntax.Seq:
			ok = false
		case *syntax.Ident:
			_, builtin := builtinIndex[syntax.Canonical(x.Name)]
			ok = ok && builtin // a user variable: another filter may set it
		case *syntax.Binary:
			// + may build a string or an array, which the action's
			// allocation budget charges at every evaluation.
			ok = ok && x.Op != syntax.Add
		}
		return ok
	})
	return ok
}

// appendGuardKey prints x, for which mayGuard holds, so that only equal
// expressions print alike: strings are length-prefixed, floats marked
// (the float 1 is not the int 1 to ===), variables by their current names.
func appendGuardKey(b []byte, x syntax.Expr) []byte {
	switch x := x.(type) {
	case *syntax.Lit:
		switch x.Kind {
		case syntax.LitString:
			b = append(b, '"')
			b = strconv.AppendInt(b, int64(len(x.Str)), 10)
			b = append(b, ':')
			return append(b, x.Str...)
		case syntax.LitInt:
			return strconv.AppendInt(b, x.Int, 10)
		case syntax.LitFloat:
			return strconv.AppendFloat(append(b, 'f'), x.Float, 'g', -1, 64)
		case syntax.LitTrue:
			return append(b, "true"...)
		case syntax.LitFalse:
			return append(b, "false"...)
		}
		return append(b, "null"...)
	case *syntax.Ident:
		return append(b, syntax.Canonical(x.Name)...)
	case *syntax.Unary:
		b = append(b, '(')
		b = append(b, x.Op.String()...)
		return append(appendGuardKey(b, x.X), ')')
	case *syntax.Binary:
		b = appendGuardKey(append(b, '('), x.X)
		b = append(b, ' ', '#')
		b = strconv.AppendInt(b, int64(x.Op), 10)
		b = append(b, ' ')
		return append(appendGuardKey(b, x.Y), ')')
	case *syntax.Index:
		b = appendGuardKey(append(b, '('), x.X)
		return append(appendGuardKey(append(b, '['), x.Index), "])"...)
	case *syntax.ArrayLit:
		b = append(b, '[')
		for _, e := range x.Elems {
			b = append(appendGuardKey(b, e), ',')
		}
		return append(b, ']')
	case *syntax.Cond:
		b = appendGuardKey(append(b, "(if "...), x.Cond)
		b = appendGuardKey(append(b, " then "...), x.Then)
		if x.Else != nil {
			b = appendGuardKey(append(b, " else "...), x.Else)
		}
		return append(b, " end)"...)
	}
	panic(fmt.Sprintf("rules: no guard key for %T", x)) // mayGuard refuses it
}

// maxGuards bounds a program's guards, so that the filter loop finds a
// filter's guards in its filterRun (16 bytes) without another load. 103
// of the 444 real filters have more; those operands run in the rest. (Up
// to six fit in 32 bytes: 21 more filters decided on ip_adds_casino_link,
// but no fewer cache misses in cachegrind's counts.)
const maxGuards = 3

// guardAnswer is a guard's answer in one action, valid when gen is the
// State's staticGen.
type guardAnswer struct {
	gen   uint32
	t     tri
	conds uint16 // what evaluating it charged (guards charging more are not remembered)
}

// filterRun is how a Set runs one filter: 16 bytes, four to a cache line.
type filterRun struct {
	test uint32 // where the whole filter's code starts in the Set's array
	// rest is where the code of what follows the guards in the filter's
	// chain of & starts; noRest when the guards are the whole filter.
	rest uint32
	// The filter's guards are guards[:n], by id; n == 0 means none, and
	// test runs.
	guards [maxGuards]uint16
	n      uint16
}

const noRest = math.MaxUint32

// runFilter is one filter's truth in the Set's filter loop.
func (set *Set) runFilter(s *State, r *filterRun) (tri, error) {
	if r.n == 0 {
		return set.exec(s, r.test)
	}
	start := s.conds
	for _, g := range r.guards[:r.n] {
		a := &s.guards[g]
		if a.gen != s.staticGen {
			before := s.conds
			t, err := set.exec(s, set.guardCode[g])
			if err != nil || s.conds-before > math.MaxUint16 {
				// Run as written: the error, and where it is, are this
				// filter's own. The guards already run are repeated at
				// no cost but their conditions, charged again.
				s.conds = start
				return set.exec(s, r.test)
			}
			*a = guardAnswer{gen: s.staticGen, t: t, conds: uint16(s.conds - before)}
		} else if err := s.chargeConditions(int(a.conds)); err != nil {
			return triUndef, err
		}
		if a.t != triTrue {
			return a.t, nil
		}
	}
	if r.rest == noRest {
		return triTrue, nil
	}
	return set.exec(s, r.rest)
}

// chargeConditions charges n conditions, one at a time where the limit or
// the budget may be reached, as countCondition would.
func (s *State) chargeConditions(n int) error {
	if s.conds+n < s.condCheck {
		s.conds += n
		return nil
	}
	for range n {
		if err := s.countCondition(); err != nil {
			return err
		}
	}
	return nil
}

// root plans a rule's root and records its guards in p.
func (c *compiler) root(x syntax.Expr, p *Program) node {
	b, ok := x.(*syntax.Binary)
	if !ok || b.Op != syntax.And && b.Op != syntax.Or {
		n := c.expr(x)
		if key, ok := guardKey(x); ok {
			p.guards = []guard{{key, n.tester(), n.codeRef()}}
		}
		return n
	}
	operands, ops := logicOperands(b)
	if !allAnd(ops) {
		return logicChain(c.exprs(operands), ops) // a false operand may not decide the rule
	}
	// "a & (b & (c & ...))", common in real filters, is "a & b & c & ...":
	// the same operands run in the same order, with the same truth, value
	// and conditions (& costs none).
	operands = flattenAnd(operands)
	ops = slices.Repeat([]syntax.Token{syntax.And}, len(operands)-1)
	nodes := c.exprs(operands)
	chain := logicChain(nodes, ops)
	k := 0
	for ; k < len(operands) && k < maxGuards; k++ {
		key, ok := guardKey(operands[k])
		if !ok {
			break
		}
		p.guards = append(p.guards, guard{key, nodes[k].tester(), nodes[k].codeRef()})
	}
	if k > 0 && k < len(nodes) {
		isAnd := slices.Repeat([]bool{true}, len(nodes)-k-1)
		p.rest = logicTest(nodes[k:], isAnd)
		p.restCode = chainCode(nodes[k:], isAnd)
	}
	return chain
}

func allAnd(ops []syntax.Token) bool {
	for _, op := range ops {
		if op != syntax.And {
			return false
		}
	}
	return true
}

// flattenAnd replaces each operand of a chain of & that is itself a chain
// of & (in parentheses) by its operands.
func flattenAnd(operands []syntax.Expr) []syntax.Expr {
	out := make([]syntax.Expr, 0, 2*len(operands))
	for _, x := range operands {
		if b, ok := x.(*syntax.Binary); ok && b.Op == syntax.And {
			if inner, ops := logicOperands(b); allAnd(ops) {
				out = append(out, flattenAnd(inner)...)
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// planRuns lays out how the filter loop runs each program, giving each
// distinct guard of the set one id, and lays out their code: in the
// filters' order, each filter's guards (the first time they appear) and
// the code that runs after them, so that the loop reads the array mostly
// forwards; after all of them, the whole code of the guarded filters,
// which runs only when a guard fails with an error. With closures set,
// the code of each is one call of its closure (see WithoutCode).
func (set *Set) planRuns(closures bool) {
	ids := map[string]uint16{}
	// The real filters take about eight instructions each.
	e := emitter{shared: set.staticShared, code: make([]instr, 0, 8*len(set.programs))}
	emit := func(c *tcode, test testFn) uint32 {
		if closures {
			c = nil
		}
		return e.emitTest(c, test)
	}
	set.runs = make([]filterRun, len(set.programs))
	set.guardCode = nil
	var guarded []int
	for i, p := range set.programs {
		r := filterRun{rest: noRest, n: uint16(len(p.guards))}
		for j, g := range p.guards {
			id, ok := ids[g.key]
			if !ok {
				if len(set.guardCode) > math.MaxUint16 {
					r.n = 0 // out of ids: the filter runs as written
					break
				}
				id = uint16(len(set.guardCode))
				ids[g.key] = id
				set.guardCode = append(set.guardCode, emit(g.code, g.test))
			}
			r.guards[j] = id
		}
		if r.n == 0 {
			r.test = emit(p.code, p.test)
		} else {
			if p.rest != nil {
				r.rest = emit(p.restCode, p.rest)
			}
			guarded = append(guarded, i)
		}
		set.runs[i] = r
	}
	for _, i := range guarded {
		p := set.programs[i]
		set.runs[i].test = emit(p.code, p.test)
	}
	set.code = e.code
	if cap(e.code) > len(e.code)+len(e.code)/8 {
		set.code = slices.Clone(e.code)
	}
}

// dropCode lets the programs' code trees go once a Set has laid them out.
func (set *Set) dropCode() {
	for _, p := range set.programs {
		p.code, p.restCode = nil, nil
		for i := range p.guards {
			p.guards[i].code = nil
		}
	}
}
