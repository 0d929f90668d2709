package rules

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// A checked syntax tree is planned into a tree of closures, one per node,
// with variables bound to slots, builtin functions bound to their
// implementations, constant regex patterns compiled once, and
// condition-free constant subtrees folded with the evaluator's own
// operators (a fold that fails, such as 1/0, stays a runtime error).

// evalFn evaluates one node.
type evalFn func(s *State) (value.Value, error)

// Scope assigns slots to user variables. Filters run together share one
// scope, because AbuseFilter shares one variable holder across the filters
// of an action.
type Scope struct {
	mu    sync.Mutex // filters of a Set compile concurrently
	names []string
	index map[string]int
}

// NewScope returns an empty scope.
func NewScope() *Scope { return &Scope{index: map[string]int{}} }

func (sc *Scope) slot(name string) int {
	name = syntax.Lower(name)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if i, ok := sc.index[name]; ok {
		return i
	}
	sc.index[name] = len(sc.names)
	sc.names = append(sc.names, name)
	return len(sc.names) - 1
}

// Len returns the number of user variables.
func (sc *Scope) Len() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.names)
}

// node is a planned node: its closure and, when it is a constant, its value.
type node struct {
	fn    evalFn
	test  testFn // nil: the truth of fn's value (see tester)
	konst bool
	val   value.Value
	// isBuiltin marks a read of builtin variable slot, which parents read
	// directly instead of calling fn.
	isBuiltin bool
	slot      uint8
	// staticKey names a call whose arguments depend only on constants and
	// builtin variables (see staticCall); "" otherwise.
	staticKey string
	// hint is, for a read of a user variable, the constant string last
	// assigned to it earlier in the filter's source, if any: what the
	// variable most likely holds (see regexSite).
	hint    string
	hasHint bool
	// negated, when set, builds the node's negation (!x) as one closure
	// instead of a closure around this one: one object less to load.
	negated func() node
	// The node's test as instructions for a Set (see code.go): one
	// instruction when hasLeaf, else code; neither: its test function
	// called by one instruction (see codeOf).
	leaf    instr
	hasLeaf bool
	code    *tcode
}

func constant(v value.Value) node {
	return node{fn: func(*State) (value.Value, error) { return v, nil }, konst: true, val: v}
}

// foldStates are the States constant folding evaluates in.
var foldStates = sync.Pool{New: func() any { return &State{} }}

type compiler struct {
	scope *Scope
	src   string
	lits  []*literalSet // of constant regexes and needles, for the prefilter
	// The static calls and the others (for NewSet's analysis, see
	// callSite.cacheFree).
	statics, dynamic []*callSite
	// staticOps are the ids of the static keyword operators (see keyword).
	staticOps []int
	err       error
	// consts are the user variables last assigned a constant string, in
	// source order so far (see node.hint).
	consts map[string]string
}

// runtimeError builds an evaluation error at node x.
func runtimeError(x syntax.Expr, code, format string, args ...any) *syntax.Error {
	return &syntax.Error{Pos: errorPos(x), Offset: x.AFOffset(), Code: code, Msg: fmt.Sprintf(format, args...)}
}

// errorPos is where an error of node x points: its operator or bracket
// rather than its first operand.
func errorPos(x syntax.Expr) syntax.Pos {
	switch n := x.(type) {
	case *syntax.Binary:
		return n.OpPos
	case *syntax.Index:
		return n.Lbrack
	}
	return x.Pos()
}

var (
	errConditionLimit = &syntax.Error{Code: syntax.ErrConditionLimit, Msg: "the condition limit was reached"}
	errBudget         = &syntax.Error{Code: syntax.ErrBudget, Msg: "the runtime budget of the action was used up"}
	errTooBig         = &syntax.Error{Code: syntax.ErrTooComplex, Msg: "a value grew beyond the size limit"}
)

// fold evaluates a condition-free node whose operands are constants, once,
// at compile time. If that fails the node is kept as it is.
func (c *compiler) fold(n node) node {
	s := foldStates.Get().(*State)
	defer foldStates.Put(s)
	s.Reset(nil, nil, EvalOptions{})
	v, err := n.fn(s)
	if err != nil || s.conds != 0 {
		return n
	}
	return constant(v)
}

func (c *compiler) expr(x syntax.Expr) node {
	switch x := x.(type) {
	case *syntax.Lit:
		return c.lit(x)
	case *syntax.Ident:
		return c.ident(x)
	case *syntax.Unary:
		return c.unary(x)
	case *syntax.Binary:
		return c.binary(x)
	case *syntax.Index:
		return c.index(x)
	case *syntax.Call:
		return c.call(x)
	case *syntax.ArrayLit:
		return c.arrayLit(x)
	case *syntax.Cond:
		return c.cond(x)
	case *syntax.Assign:
		return c.assign(x)
	case *syntax.Seq:
		return c.seq(x)
	}
	panic(fmt.Sprintf("rules: unknown node %T", x))
}

func (c *compiler) lit(x *syntax.Lit) node {
	switch x.Kind {
	case syntax.LitString:
		return constant(value.NewString(x.Str))
	case syntax.LitInt:
		return constant(value.NewInt(x.Int))
	case syntax.LitFloat:
		return constant(value.NewFloat(x.Float))
	case syntax.LitTrue:
		return constant(value.True)
	case syntax.LitFalse:
		return constant(value.False)
	}
	return constant(value.NullValue)
}

func (c *compiler) ident(x *syntax.Ident) node {
	name := syntax.Canonical(x.Name)
	if i, ok := builtinIndex[name]; ok {
		return node{
			fn:        func(s *State) (value.Value, error) { return s.builtinVar(i), nil },
			test:      func(s *State) (tri, error) { return triOf(s.builtinVar(i)), nil },
			isBuiltin: true, slot: i,
			leaf: instr{op: opBuiltin, slot: i}, hasLeaf: true,
		}
	}
	slot := c.scope.slot(name)
	hint, hasHint := c.consts[syntax.Lower(name)]
	return node{fn: func(s *State) (value.Value, error) {
		if s.trackVars {
			s.trackVar(name)
		}
		return s.user[slot], nil
	}, hint: hint, hasHint: hasHint}
}

func (c *compiler) unary(x *syntax.Unary) node {
	arg := c.expr(x.X)
	argFn := arg.fn // not the whole nodes (see call)
	var n node
	switch x.Op {
	case syntax.Not:
		if arg.negated != nil {
			return arg.negated()
		}
		argTest := arg.tester()
		n.test = func(s *State) (tri, error) {
			t, err := argTest(s)
			return t.not(), err
		}
		n.setNotCode(arg, argTest)
		// The value path calls the operand's value path, which check-syntax
		// mode needs.
		n.fn = func(s *State) (value.Value, error) {
			v, err := argFn(s)
			if err != nil {
				return v, err
			}
			return value.Not(v), nil
		}
	case syntax.Sub:
		n.fn = func(s *State) (value.Value, error) {
			v, err := argFn(s)
			if err != nil {
				return v, err
			}
			return value.Neg(v), nil
		}
	default: // unary plus returns its operand unchanged
		return arg
	}
	if arg.konst {
		return c.fold(n)
	}
	return n
}

func (c *compiler) binary(x *syntax.Binary) node {
	switch x.Op {
	case syntax.And, syntax.Or:
		return c.logic(x)
	}
	if x.Op.IsKeywordOperator() {
		return c.keyword(x)
	}
	l, r := c.expr(x.X), c.expr(x.Y)
	lfn, rfn := l.fn, r.fn // not the whole nodes (see call)
	var n node
	switch x.Op {
	case syntax.Xor:
		n.fn = func(s *State) (value.Value, error) {
			a, err := lfn(s)
			if err != nil {
				return a, err
			}
			b, err := rfn(s)
			if err != nil {
				return b, err
			}
			return value.NewBool(a.Truthy() != b.Truthy()), nil
		}
	case syntax.Add, syntax.Sub, syntax.Mul, syntax.Pow:
		op := map[syntax.Token]func(a, b value.Value) value.Value{
			syntax.Add: value.Add, syntax.Sub: value.Sub, syntax.Mul: value.Mul, syntax.Pow: value.Pow,
		}[x.Op]
		isAdd := x.Op == syntax.Add
		n.fn = func(s *State) (value.Value, error) {
			a, err := lfn(s)
			if err != nil {
				return a, err
			}
			b, err := rfn(s)
			if err != nil {
				return b, err
			}
			v := op(a, b)
			if isAdd && (v.Kind() == value.String || v.Kind() == value.Array) {
				if err := s.alloc(sizeOf(v)); err != nil {
					return value.UndefinedValue, err
				}
			}
			return v, nil
		}
	case syntax.Div, syntax.Mod:
		op := value.Div
		if x.Op == syntax.Mod {
			op = value.Mod
		}
		n.fn = func(s *State) (value.Value, error) {
			a, err := lfn(s)
			if err != nil {
				return a, err
			}
			b, err := rfn(s)
			if err != nil {
				return b, err
			}
			v, err := op(a, b)
			if err != nil {
				return v, runtimeError(x, syntax.ErrDivideByZero, "division by zero")
			}
			return v, nil
		}
	default:
		return c.compare(x, l, r)
	}
	if l.konst && r.konst {
		return c.fold(n)
	}
	return n
}

// sizeOf estimates the bytes a built value holds, for the allocation budget.
func sizeOf(v value.Value) int {
	switch v.Kind() {
	case value.String:
		return len(v.Str())
	case value.Array:
		return 24 * v.Len()
	}
	return 0
}

// compareOp evaluates a comparison of two defined values.
func compareOp(op syntax.Token, a, b value.Value) bool {
	switch op {
	case syntax.Eq, syntax.EqSingle:
		return value.Equal(a, b, false)
	case syntax.NotEq:
		return !value.Equal(a, b, false)
	case syntax.EqStrict:
		return value.Equal(a, b, true)
	case syntax.NotEqStrict:
		return !value.Equal(a, b, true)
	case syntax.Less:
		return value.Compare(a, b) < 0
	case syntax.Greater:
		// PHP evaluates a > b as b < a.
		return value.Compare(b, a) < 0
	case syntax.LessEq:
		return value.Compare(a, b) <= 0
	case syntax.GreaterEq:
		return value.Compare(b, a) <= 0
	}
	panic("rules: unknown comparison " + op.String())
}

// compareInts is compareOp for two plain ints, whose string forms PHP
// compares as the numbers they are.
func compareInts(op syntax.Token, a, b int64) bool {
	switch op {
	case syntax.Eq, syntax.EqSingle, syntax.EqStrict:
		return a == b
	case syntax.NotEq, syntax.NotEqStrict:
		return a != b
	case syntax.Less:
		return a < b
	case syntax.Greater:
		return a > b
	case syntax.LessEq:
		return a <= b
	}
	return a >= b
}

// compareConst is a comparison with a defined constant b.
func compareConst(op syntax.Token, a, b value.Value) tri {
	if a.IsUndefined() {
		return triUndef
	}
	return triBool(compareOp(op, a, b))
}

func (c *compiler) compare(x *syntax.Binary, l, r node) node {
	lfn, rfn := l.fn, r.fn // not the whole nodes (see call)
	op := x.Op
	compareOp(op, value.NullValue, value.NullValue) // refuse unknown operators now
	if r.konst && r.val.Kind() != value.Undefined {
		// The common "variable op constant": the constant's checks are
		// made once, and a builtin variable is read from its slot.
		b := r.val
		bi, bInt := b.PlainInt()
		if l.isBuiltin {
			leaf := instr{op: opCompare, slot: l.slot, cmp: op, x: bi, p: unsafe.Pointer(&b)}
			if bInt {
				leaf.flags = flagInt
			}
			return negatable(func(flip tri) testFn {
				in := leaf
				in.flip = flip
				return in.compare
			}, leaf)
		}
		return boolNode(func(s *State) (tri, error) {
			a, err := lfn(s)
			if err != nil {
				return triUndef, err
			}
			if err := s.countCondition(); err != nil {
				return triUndef, err
			}
			if ai, ok := a.PlainInt(); ok && bInt {
				return triBool(compareInts(op, ai, bi)), nil
			}
			return compareConst(op, a, b), nil
		})
	}
	return boolNode(func(s *State) (tri, error) {
		a, err := lfn(s)
		if err != nil {
			return triUndef, err
		}
		b, err := rfn(s)
		if err != nil {
			return triUndef, err
		}
		if err := s.countCondition(); err != nil {
			return triUndef, err
		}
		if a.IsUndefined() || b.IsUndefined() {
			return triUndef, nil
		}
		return triBool(compareOp(op, a, b)), nil
	})
}

// operand is an operand after the first of a chain of & and |: skip is
// where a short-circuit from it goes.
type operand struct {
	test  testFn
	isAnd bool
	skip  int
}

// chainTest is the test of the short chains, the most common ones (a & b,
// a & b & c), with the operands held in the closure itself rather than in
// a slice beside it: one object less to load per evaluation, in a loop that
// runs over hundreds of filters whose code and data are no longer in the
// CPU's first-level cache. Nil for longer chains.
func chainTest(first testFn, ops []operand) testFn {
	switch len(ops) {
	case 1:
		b, and := ops[0].test, ops[0].isAnd
		return func(s *State) (tri, error) {
			t, err := first(s)
			if err != nil || (t == triTrue) != and {
				return t, err
			}
			w, err := b(s)
			if err != nil {
				return w, err
			}
			return triBool(w == triTrue), nil
		}
	case 2:
		b, and1 := ops[0].test, ops[0].isAnd
		c, and2 := ops[1].test, ops[1].isAnd
		return func(s *State) (tri, error) {
			t, err := first(s)
			if err != nil {
				return t, err
			}
			if (t == triTrue) == and1 {
				w, err := b(s)
				if err != nil {
					return w, err
				}
				t = triBool(w == triTrue)
			} else if and1 == and2 {
				return t, nil // the short-circuit skips c too
			}
			if (t == triTrue) != and2 {
				return t, nil
			}
			w, err := c(s)
			if err != nil {
				return w, err
			}
			return triBool(w == triTrue), nil
		}
	}
	return nil
}

// logic compiles a chain of & and | (one left-associative level, so
// "a | b & c" is "(a | b) & c") into one node. At each step the value so far
// decides whether the next operand runs: a short-circuit keeps the value
// so far (AbuseFilter returns the left operand itself, not a bool);
// otherwise the value becomes the next operand's truthiness.
func (c *compiler) logic(x *syntax.Binary) node {
	operands, ops := logicOperands(x)
	return logicChain(c.exprs(operands), ops)
}

// logicOperands flattens a chain of & and | into its operands and
// operators, in source order.
func logicOperands(x *syntax.Binary) ([]syntax.Expr, []syntax.Token) {
	var operands []syntax.Expr
	var ops []syntax.Token
	for cur := syntax.Expr(x); ; {
		b, ok := cur.(*syntax.Binary)
		if !ok || b.Op != syntax.And && b.Op != syntax.Or {
			operands = append(operands, cur)
			break
		}
		operands = append(operands, b.Y)
		ops = append(ops, b.Op)
		cur = b.X
	}
	// Collected right to left; put them in source order.
	slices.Reverse(operands)
	slices.Reverse(ops)
	return operands, ops
}

// exprs plans xs in order.
func (c *compiler) exprs(xs []syntax.Expr) []node {
	nodes := make([]node, len(xs))
	for i, x := range xs {
		nodes[i] = c.expr(x)
	}
	return nodes
}

// logicChain builds the node of a chain of & and | from its planned
// operands and its operators (len(ops) == len(nodes)-1).
func logicChain(nodes []node, ops []syntax.Token) node {
	first, rest := nodes[0], nodes[1:]
	isAnd := make([]bool, len(ops))
	for i := range ops {
		isAnd[i] = ops[i] == syntax.And
	}
	test := logicTest(nodes, isAnd)
	firstFn := first.fn
	restFns := make([]evalFn, len(rest)) // not the whole nodes (see call)
	for i, n := range rest {
		restFns[i] = n.fn
	}
	return node{test: test, code: chainCode(nodes, isAnd), fn: func(s *State) (value.Value, error) {
		v, err := firstFn(s)
		if err != nil {
			return v, err
		}
		for i, next := range restFns {
			if v.Truthy() != isAnd[i] {
				if s.check {
					// Check-syntax mode evaluates the skipped operand for
					// its errors and discards its value.
					if _, err := next(s); err != nil {
						return value.UndefinedValue, err
					}
				}
				continue
			}
			w, err := next(s)
			if err != nil {
				return w, err
			}
			v = value.NewBool(w.Truthy())
		}
		return v, nil
	}}
}

// logicTest is the test of a chain of & and | (isAnd[i] tells the
// operator before nodes[i+1]).
func logicTest(nodes []node, isAnd []bool) testFn {
	first, rest := nodes[0], nodes[1:]
	if len(rest) == 0 {
		return first.tester()
	}
	// A false value skips every & up to the next |, and a true one every
	// | up to the next &: skipTo[i] is where the run of i's operator ends.
	skipTo := make([]int, len(isAnd))
	for i := len(isAnd) - 1; i >= 0; i-- {
		skipTo[i] = i + 1
		if i+1 < len(isAnd) && isAnd[i+1] == isAnd[i] {
			skipTo[i] = skipTo[i+1]
		}
	}
	tests := make([]operand, len(isAnd))
	for i := range isAnd {
		tests[i] = operand{rest[i].tester(), isAnd[i], skipTo[i]}
	}
	firstTest := first.tester()
	test := chainTest(firstTest, tests)
	if test == nil {
		test = func(s *State) (tri, error) {
			t, err := firstTest(s)
			if err != nil {
				return t, err
			}
			for i := 0; i < len(tests); {
				op := &tests[i]
				if (t == triTrue) != op.isAnd {
					i = op.skip
					continue
				}
				w, err := op.test(s)
				if err != nil {
					return w, err
				}
				t = triBool(w == triTrue)
				i++
			}
			return t, nil
		}
	}
	return test
}

func (c *compiler) index(x *syntax.Index) node {
	arr, idx := c.expr(x.X), c.expr(x.Index)
	arrFn, idxFn := arr.fn, idx.fn // not the whole nodes (see call)
	return node{fn: func(s *State) (value.Value, error) {
		a, err := arrFn(s)
		if err != nil {
			return a, err
		}
		i, err := idxFn(s)
		if err != nil {
			return i, err
		}
		if i.Kind() == value.Undefined {
			return i, nil
		}
		offset := i.ToInt()
		if a.Kind() == value.Undefined {
			return a, nil
		}
		return elementAt(x, a, offset)
	}}
}

// elementAt reads a[offset] with AbuseFilter's errors.
func elementAt(x syntax.Expr, a value.Value, offset int64) (value.Value, error) {
	if a.Kind() != value.Array {
		return value.UndefinedValue, runtimeError(x, syntax.ErrNotArray, "indexing a value that is not an array")
	}
	elems := a.Elems()
	if int64(len(elems)) <= offset {
		return value.UndefinedValue, runtimeError(x, syntax.ErrOutOfBounds, "index %d is out of bounds for an array of %d elements", offset, len(elems))
	}
	if offset < 0 {
		return value.UndefinedValue, runtimeError(x, syntax.ErrNegativeIndex, "negative index %d", offset)
	}
	return elems[offset], nil
}

func (c *compiler) arrayLit(x *syntax.ArrayLit) node {
	elems := make([]node, len(x.Elems))
	allConst := true
	for i, e := range x.Elems {
		elems[i] = c.expr(e)
		allConst = allConst && elems[i].konst
	}
	fns := make([]evalFn, len(elems)) // not the whole nodes (see call)
	for i, e := range elems {
		fns[i] = e.fn
	}
	n := node{fn: func(s *State) (value.Value, error) {
		out := make([]value.Value, len(fns))
		for i, fn := range fns {
			v, err := fn(s)
			if err != nil {
				return v, err
			}
			out[i] = v
		}
		return value.NewArray(out), nil
	}}
	if allConst {
		return c.fold(n)
	}
	return n
}

func (c *compiler) cond(x *syntax.Cond) node {
	cond, then := c.expr(x.Cond), c.expr(x.Then)
	var els node
	hasElse := x.Else != nil
	if hasElse {
		els = c.expr(x.Else)
	}
	condTest, thenTest := cond.tester(), then.tester()
	condFn, thenFn, elsFn := cond.fn, then.fn, els.fn // not the whole nodes (see call)
	var elseTest testFn
	if hasElse {
		elseTest = els.tester()
	}
	test := func(s *State) (tri, error) {
		t, err := condTest(s)
		if err != nil {
			return t, err
		}
		if t == triTrue {
			return thenTest(s)
		}
		if !hasElse {
			return triFalse, nil // null
		}
		return elseTest(s)
	}
	code := &tcode{kind: tCond, kids: append(make([]tcode, 0, 3), cond.codeOf(), then.codeOf())}
	if hasElse {
		code.kids = append(code.kids, els.codeOf())
	}
	return node{test: test, code: code, fn: func(s *State) (value.Value, error) {
		v, err := condFn(s)
		if err != nil {
			return v, err
		}
		if v.Truthy() {
			if s.check && hasElse {
				if _, err := elsFn(s); err != nil {
					return value.UndefinedValue, err
				}
			}
			return thenFn(s)
		}
		if s.check {
			if _, err := thenFn(s); err != nil {
				return value.UndefinedValue, err
			}
		}
		if !hasElse {
			return value.NullValue, nil
		}
		return elsFn(s)
	}}
}

func (c *compiler) seq(x *syntax.Seq) node {
	list := make([]evalFn, len(x.List)) // not the whole nodes (see call)
	var last node
	for i, e := range x.List {
		last = c.expr(e)
		list[i] = last.fn
	}
	n := node{fn: func(s *State) (value.Value, error) {
		var v value.Value
		var err error
		for _, fn := range list {
			if v, err = fn(s); err != nil {
				return v, err
			}
		}
		return v, nil
	}}
	if len(list) < 2 {
		return n
	}
	// Read for its truth ("x := ...; rule", a sixth of the real filters),
	// the sequence runs what comes before its last expression for its
	// effects, then tests the last one, which is then instructions in a
	// Set rather than the value paths of a whole chain.
	prefix := list[:len(list)-1]
	runPrefix := func(s *State) (tri, error) {
		for _, fn := range prefix {
			if _, err := fn(s); err != nil {
				return triUndef, err
			}
		}
		return triFalse, nil
	}
	lastTest := last.tester()
	n.test = func(s *State) (tri, error) {
		if t, err := runPrefix(s); err != nil {
			return t, err
		}
		return lastTest(s)
	}
	n.code = &tcode{kind: tSeq, kids: []tcode{leafCode(instr{op: opCall, fn: runPrefix}), last.codeOf()}}
	return n
}

func (c *compiler) assign(x *syntax.Assign) node {
	name := syntax.Lower(x.Name)
	slot := c.scope.slot(name)
	val := c.expr(x.Value)
	valFn := val.fn // not the whole nodes (see call)
	if x.Index == nil && !x.Append && val.konst && val.val.IsString() {
		if c.consts == nil {
			c.consts = map[string]string{}
		}
		c.consts[name] = val.val.Str()
	} else {
		delete(c.consts, name)
	}
	switch {
	case x.Append:
		return node{fn: func(s *State) (value.Value, error) {
			if s.trackVars {
				s.trackVar(name)
			}
			arr := s.user[slot]
			v, err := valFn(s)
			if err != nil {
				return v, err
			}
			if arr.Kind() == value.Undefined {
				return v, nil
			}
			if arr.Kind() != value.Array {
				return value.UndefinedValue, runtimeError(x, syntax.ErrNotArray, "appending to %s, which is not an array", name)
			}
			old := arr.Elems()
			if err := s.alloc(24 * (len(old) + 1)); err != nil {
				return value.UndefinedValue, err
			}
			out := make([]value.Value, len(old)+1)
			copy(out, old)
			out[len(old)] = v
			s.user[slot] = value.NewArray(out)
			return v, nil
		}}
	case x.Index != nil:
		idxFn := c.expr(x.Index).fn
		return node{fn: func(s *State) (value.Value, error) {
			if s.trackVars {
				s.trackVar(name)
			}
			arr := s.user[slot]
			if arr.Kind() != value.Array && arr.Kind() != value.Undefined {
				return value.UndefinedValue, runtimeError(x, syntax.ErrNotArray, "indexing %s, which is not an array", name)
			}
			i, err := idxFn(s)
			if err != nil {
				return i, err
			}
			if arr.Kind() == value.Undefined {
				return valFn(s)
			}
			if i.Kind() == value.Undefined {
				v, err := valFn(s)
				if err != nil {
					return v, err
				}
				s.user[slot] = value.UndefinedValue
				return v, nil
			}
			offset := i.ToInt()
			if _, err := elementAt(x, arr, offset); err != nil {
				return value.UndefinedValue, err
			}
			v, err := valFn(s)
			if err != nil {
				return v, err
			}
			out := append([]value.Value(nil), arr.Elems()...)
			out[offset] = v
			s.user[slot] = value.NewArray(out)
			return v, nil
		}}
	}
	return node{fn: func(s *State) (value.Value, error) {
		v, err := valFn(s)
		if err != nil {
			return v, err
		}
		s.user[slot] = v
		return v, nil
	}}
}

// keyword compiles the keyword operators. Each evaluation costs a
// condition; an undefined operand still runs the operator (with null) for
// its errors, and the result is undefined.
func (c *compiler) keyword(x *syntax.Binary) node {
	l, r := c.expr(x.X), c.expr(x.Y)
	var op keywordOp
	var regex *regexSite
	switch x.Op {
	case syntax.In:
		needle := c.needle(l)
		op = func(s *State, a, b value.Value) (bool, error) {
			return s.contains(b, a, needle), nil
		}
	case syntax.Contains:
		needle := c.needle(r)
		op = func(s *State, a, b value.Value) (bool, error) {
			return s.contains(a, b, needle), nil
		}
	case syntax.Like, syntax.Matches:
		site := c.likeSite(r)
		op = func(s *State, a, b value.Value) (bool, error) {
			return site.like(s, s.str(a), s.str(b)), nil
		}
	case syntax.Rlike, syntax.Regex, syntax.Irlike:
		site := c.regexSite(x, r, x.Op == syntax.Irlike)
		op = site.match
		regex = site
	}
	lfn, rfn := l.fn, r.fn // not the whole nodes (see call)
	test := func(s *State) (tri, error) {
		a, err := lfn(s)
		if err != nil {
			return triUndef, err
		}
		b, err := rfn(s)
		if err != nil {
			return triUndef, err
		}
		return applyKeyword(s, op, a, b)
	}
	var leaf instr // the operator as one instruction, when hasLeaf
	var hasLeaf bool
	if regex != nil && r.konst && !r.val.HasUndefined() {
		test = regexTest(regex, l, r.val)
		if l.isBuiltin {
			regex.pattern = r.val
			leaf, hasLeaf = instr{op: opRegex, slot: l.slot, p: unsafe.Pointer(regex)}, true
		}
	}
	if !hasLeaf {
		leaf, hasLeaf = keywordLeafOf(op, l, r)
	}
	key, static := staticKey("#"+strconv.Itoa(int(x.Op)), []node{l, r})
	if !static {
		n := boolNode(test)
		n.leaf, n.hasLeaf = leaf, hasLeaf
		return n
	}
	// Both operands are the same in all of an action's filters (e.g.
	// "confirmed" in user_groups, in a third of them): the first answer
	// serves them all. A successful evaluation costs exactly one condition
	// (a static call among the operands is answered from the cache after
	// its first evaluation, at no cost), so a remembered one costs one too.
	id := staticCallID(key)
	c.staticOps = append(c.staticOps, id)
	kw := instr{op: opStatic, x: int64(id), fn: test}
	if hasLeaf {
		// What runs in its place when its answer is not shared (see
		// emitter.leaf).
		kw.inner, kw.slot, kw.p, kw.flags = leaf.op, leaf.slot, leaf.p, leaf.flags
	}
	return negatable(func(flip tri) testFn {
		return func(s *State) (tri, error) {
			t, err := staticKeyword(s, id, test)
			return t.flip(flip), err
		}
	}, kw)
}

// regexTest is the test of "subject rlike pattern" with a constant
// pattern, the commonest keyword operator: it calls the site itself, and
// reads a builtin subject from its slot, rather than calling a closure for
// each operand and one for the operator (on a cold cache each is a miss).
// It does what the general test does with applyKeyword, in the same order.
func regexTest(site *regexSite, subject node, pattern value.Value) testFn {
	if subject.isBuiltin {
		slot := subject.slot
		return func(s *State) (tri, error) {
			return site.test(s, s.builtinVar(slot), pattern)
		}
	}
	fn := subject.fn
	return func(s *State) (tri, error) {
		a, err := fn(s)
		if err != nil {
			return triUndef, err
		}
		return site.test(s, a, pattern)
	}
}

// test is applyKeyword with the site's match.
func (site *regexSite) test(s *State, a, b value.Value) (tri, error) {
	return applyKeyword(s, site.match, a, b)
}

// keywordOp is a keyword operator on its operands' values.
type keywordOp func(s *State, a, b value.Value) (bool, error)

// applyKeyword runs a keyword operator on its operands' values. Each
// evaluation costs a condition; an undefined operand still runs the
// operator (with null) for its errors, and the result is undefined.
func applyKeyword(s *State, op keywordOp, a, b value.Value) (tri, error) {
	if err := s.countCondition(); err != nil {
		return triUndef, err
	}
	if a.HasUndefined() || b.HasUndefined() {
		if _, err := op(s, a.UndefinedToNull(), b.UndefinedToNull()); err != nil {
			return triUndef, err
		}
		return triUndef, nil
	}
	ok, err := op(s, a, b)
	if err != nil {
		return triUndef, err
	}
	return triBool(ok), nil
}

// regexSite is one use of a regex: its pattern compiled once when it is a
// constant, and the literals for the prefilter. A pattern held in a
// variable is compiled on first use and remembered for the next action.
type regexSite struct {
	// What a match with a constant pattern reads comes first, so that it
	// shares one cache line (56 bytes); err is read only when re is nil.
	konst    bool
	caseless bool
	re       *pcre.Regexp
	lits     literalSet
	err      error
	x        syntax.Expr
	last     atomic.Pointer[compiledPattern]
	// pattern is the constant pattern an opRegex instruction matches.
	pattern value.Value
	// hinted is the regex of the pattern a variable most likely holds
	// (node.hint), with its literals in the Set's index; used when the
	// variable does hold it.
	hinted *compiledPattern
}

type compiledPattern struct {
	pattern string
	re      *pcre.Regexp
	err     error
	lits    literalSet
}

func (c *compiler) regexSite(x syntax.Expr, pattern node, caseless bool) *regexSite {
	site := &regexSite{x: x, caseless: caseless}
	if pattern.konst && pattern.val.IsString() {
		site.konst = true
		site.re, site.err = cachedRegex(pattern.val.Str(), caseless)
		if site.re != nil {
			site.lits = newLiteralSet(site.re)
			c.lits = append(c.lits, &site.lits)
		}
	} else if pattern.hasHint {
		// Filters keep long regexes in variables (line1 := "..."; ...
		// added_lines rlike line1): compile the likely pattern now, so that
		// its literals join the prefilter's single pass.
		h := &compiledPattern{pattern: pattern.hint}
		if h.re, h.err = cachedRegex(pattern.hint, caseless); h.re != nil {
			h.lits = newLiteralSet(h.re)
			c.lits = append(c.lits, &h.lits)
			site.hinted = h
		}
	}
	return site
}

// compile returns the regex for a pattern value.
func (site *regexSite) compile(s *State, pattern value.Value) (*pcre.Regexp, error) {
	re, _, err := site.compileLits(s, pattern)
	return re, err
}

// compileLits returns the regex for a pattern value and its literals.
func (site *regexSite) compileLits(s *State, pattern value.Value) (*pcre.Regexp, *literalSet, error) {
	if site.konst && pattern.IsString() {
		if site.re != nil {
			return site.re, &site.lits, nil
		}
		return nil, &site.lits, site.err
	}
	p := s.str(pattern)
	if h := site.hinted; h != nil && h.pattern == p {
		return h.re, &h.lits, h.err
	}
	if last := site.last.Load(); last != nil && last.pattern == p {
		return last.re, &last.lits, last.err
	}
	c := &compiledPattern{pattern: p}
	c.re, c.err = cachedRegex(p, site.caseless)
	if c.re != nil {
		c.lits = newLiteralSet(c.re)
	}
	site.last.Store(c)
	return c.re, &c.lits, c.err
}

func (site *regexSite) fail(format string, args ...any) error {
	return runtimeError(site.x, syntax.ErrRegexFailure, format, args...)
}

// match is rlike / irlike / regex.
func (site *regexSite) match(s *State, subject, pattern value.Value) (bool, error) {
	re, lits, err := site.compileLits(s, pattern)
	if err != nil {
		return false, site.fail("invalid regular expression: %v", err)
	}
	if s.check && pattern.Kind() != value.Undefined && re.MatchesEmpty() {
		s.warn(site.x, "match-empty-regex", "this regular expression matches the empty string")
	}
	str := s.str(subject)
	// preg refuses a subject that is not UTF-8 (regexfailure), whatever
	// the prefilter could say about it.
	subj, valid := s.pre.validUTF8(str)
	if !valid {
		return false, site.fail("the regular expression failed: %v", pcre.ErrBadUTF8)
	}
	if !lits.empty() {
		// A pattern of fixed strings is its own literal search; the
		// prefilter answers it only when it has scanned the subject anyway.
		if !lits.exact || subj.found != nil {
			if !s.pre.mayContain(subj, lits) {
				return false, nil
			}
		}
	}
	ok, err := s.match(re, str)
	if err != nil {
		return false, site.fail("the regular expression failed: %v", err)
	}
	return ok, nil
}

// match runs re on str, which is valid UTF-8, remembering the answer for
// the action: filters often test the same variable with the same regex.
func (s *State) match(re *pcre.Regexp, str string) (bool, error) {
	key := matchKey{re: re, ptr: unsafe.StringData(str), n: len(str)}
	slot := &s.matches[(uintptr(unsafe.Pointer(re))>>4^uintptr(unsafe.Pointer(key.ptr))>>3)%uintptr(len(s.matches))]
	if slot.key == key {
		return slot.ok, nil
	}
	var ok bool
	var err error
	if _, fold := re.ExactStrings(); fold {
		// Fixed caseless strings: searched for in the subject folded once
		// per action.
		ok = re.MatchFolded(s.pre.fold(str))
	} else {
		ok, err = re.MatchValid(str, s.regexLim)
	}
	if err == nil {
		*slot = matchMemo{key: key, ok: ok, subject: str}
	}
	return ok, err
}

func (s *State) warn(x syntax.Expr, code, msg string) {
	s.warnings = append(s.warnings, &syntax.Error{Pos: errorPos(x), Offset: x.AFOffset(), Code: code, Msg: msg})
}

// contains is AbuseFilter's containment test: haystack and needle as
// strings; false when either is empty.
func (s *State) contains(haystack, needle value.Value, lits *literalSet) bool {
	h, n := s.str(haystack), s.str(needle)
	if h == "" || n == "" {
		return false
	}
	if lits != nil && needle.IsString() && s.pre.absent(h, lits, false) {
		return false
	}
	return pcre.Contains(h, n)
}

// needle registers a constant string operand of a containment test with
// the prefilter, so that its absence is known from the action's single
// Aho-Corasick pass over the haystack; nil when it is not a constant.
func (c *compiler) needle(n node) *literalSet {
	if !n.konst || !n.val.IsString() || len(n.val.Str()) < minLiteral {
		return nil
	}
	lits := newLits([]string{n.val.Str()}, false, false)
	ls := &lits
	c.lits = append(c.lits, ls)
	return ls
}

// likeSite is one use of like/matches with its glob compiled once when
// constant.
type likeSite struct {
	konst bool
	re    *pcre.Regexp
}

func (c *compiler) likeSite(pattern node) *likeSite {
	site := &likeSite{}
	if pattern.konst && pattern.val.IsString() {
		site.konst = true
		site.re, _ = cachedGlob(pattern.val.Str())
	}
	return site
}

// like matches str against a glob; any regex error makes it false, as
// AbuseFilter silences them.
func (site *likeSite) like(s *State, str, pattern string) bool {
	re := site.re
	if !site.konst {
		re, _ = cachedGlob(pattern)
	}
	if re == nil {
		return false
	}
	ok, err := re.Match(str, s.regexLim)
	return err == nil && ok
}
