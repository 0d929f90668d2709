package rules

import "github.com/vigilwiki/vigil/rules/value"

// Most of a filter is read for its truth: the operands of & and |, what !
// negates, an if's condition, and the verdict itself. Nodes that yield a
// boolean (comparisons, keyword operators, !, & and |) can say that
// truth directly, without building a Value; their test function does so.
// Truth has three states, because undefined propagates: !undefined is
// undefined, hence false, and not true.

// tri is the truth of a value: false, true, or undefined.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUndef
)

// testFn evaluates a node for its truth. Test functions are used only
// outside check-syntax mode, which must evaluate skipped branches.
type testFn func(s *State) (tri, error)

func triOf(v value.Value) tri {
	switch {
	case v.IsUndefined():
		return triUndef
	case v.Truthy():
		return triTrue
	}
	return triFalse
}

func triBool(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// not is AbuseFilter's !: undefined stays undefined.
func (t tri) not() tri {
	if t == triUndef {
		return t
	}
	return t ^ 1
}

// flip is t negated when flip is 1 (as not does), t when it is 0: a
// closure built for both a test and its negation holds flip.
func (t tri) flip(flip tri) tri {
	if t == triUndef {
		return t
	}
	return t ^ flip
}

// value is the Value of a boolean node with truth t.
func (t tri) value() value.Value {
	switch t {
	case triTrue:
		return value.True
	case triFalse:
		return value.False
	}
	return value.UndefinedValue
}

// tester returns n's test function, derived from its value when it has
// none of its own.
func (n node) tester() testFn {
	if n.test != nil {
		return n.test
	}
	if n.konst {
		t := triOf(n.val)
		return func(*State) (tri, error) { return t, nil }
	}
	fn := n.fn
	return func(s *State) (tri, error) {
		v, err := fn(s)
		return triOf(v), err
	}
}

// boolNode is a node whose value is always a bool or undefined: its value
// comes from its test, which must evaluate its operands by value (so that
// check-syntax mode, which never calls test functions, reaches them).
func boolNode(test testFn) node {
	return node{
		test: test,
		fn: func(s *State) (value.Value, error) {
			t, err := test(s)
			return t.value(), err
		},
	}
}

// negatable is boolNode(build(0)), whose negation is boolNode(build(1)):
// build makes the test, with its result negated when flip is 1. leaf is
// the same test as an instruction (see code.go), its flip set likewise.
func negatable(build func(flip tri) testFn, leaf instr) node {
	n := boolNode(build(0))
	n.leaf, n.hasLeaf = leaf, true
	n.negated = func() node {
		m := boolNode(build(1))
		m.leaf, m.hasLeaf = leaf, true
		m.leaf.flip ^= 1
		return m
	}
	return n
}
