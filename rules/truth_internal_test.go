package rules

import (
	"errors"
	"fmt"
	"testing"
)

// TestChainTest checks the closures for short & and | chains against the
// rule of one left-associative level, for every mix of operators and every
// outcome of the operands (false, true, undefined, an error): the same
// truth, the same error, and the same operands run, in the same order.
func TestChainTest(t *testing.T) {
	boom := errors.New("boom")
	type outcome struct {
		t   tri
		err error
	}
	outcomes := []outcome{{triFalse, nil}, {triTrue, nil}, {triUndef, nil}, {triUndef, boom}}
	// want evaluates the chain by the rule: a short-circuit keeps the value
	// so far, otherwise the value becomes the next operand's truth.
	want := func(vals []outcome, and []bool) (tri, error, []int) {
		ran := []int{0}
		if vals[0].err != nil {
			return vals[0].t, vals[0].err, ran
		}
		cur := vals[0].t
		for i, isAnd := range and {
			if (cur == triTrue) != isAnd {
				continue
			}
			ran = append(ran, i+1)
			if vals[i+1].err != nil {
				return vals[i+1].t, vals[i+1].err, ran
			}
			cur = triBool(vals[i+1].t == triTrue)
		}
		return cur, nil, ran
	}
	for n := 2; n <= 3; n++ {
		for ops := 0; ops < 1<<(n-1); ops++ {
			and := make([]bool, n-1)
			for i := range and {
				and[i] = ops&(1<<i) != 0
			}
			for combo := 0; combo < pow(len(outcomes), n); combo++ {
				vals := make([]outcome, n)
				for i, c := 0, combo; i < n; i, c = i+1, c/len(outcomes) {
					vals[i] = outcomes[c%len(outcomes)]
				}
				var ran []int
				fns := make([]testFn, n)
				for i := range fns {
					fns[i] = func(*State) (tri, error) {
						ran = append(ran, i)
						return vals[i].t, vals[i].err
					}
				}
				ops := make([]operand, n-1)
				for i := range ops {
					ops[i] = operand{test: fns[i+1], isAnd: and[i]}
				}
				test := chainTest(fns[0], ops)
				if test == nil {
					t.Fatalf("no chain test for %d operands", n)
				}
				got, err := test(nil)
				wt, werr, wran := want(vals, and)
				name := fmt.Sprintf("and=%v vals=%v", and, vals)
				if got != wt || !errors.Is(err, werr) || fmt.Sprint(ran) != fmt.Sprint(wran) {
					t.Errorf("%s: got %v, %v, ran %v; want %v, %v, ran %v", name, got, err, ran, wt, werr, wran)
				}
			}
		}
	}
}

func pow(b, e int) int {
	p := 1
	for range e {
		p *= b
	}
	return p
}
