package rules_test

import (
	"testing"

	"github.com/vigilwiki/vigil/rules"
)

// TestNegationOfUndefined: ! keeps undefined undefined, so a rule whose
// value is !(undefined) does not match, whichever operator the ! negates.
// A variable assigned only in a branch that was skipped is undefined.
func TestNegationOfUndefined(t *testing.T) {
	for _, c := range []struct {
		src   string
		undef bool // the value too is undefined (in a chain it becomes false)
	}{
		{`false & (x := "a"); !(x contains "b")`, true},
		{`false & (x := "a"); !("b" in x)`, true},
		{`false & (x := "a"); !(x like "b*")`, true},
		{`false & (x := "a"); !(x rlike "b")`, true},
		{`false & (x := "a"); !(x irlike "b")`, true},
		{`false & (x := 1); !(x > 0)`, true},
		{`false & (x := 1); !(x == 0)`, true},
		{`false & (x := "a"); !(!(x contains "b"))`, true},
		{`false & (x := "a"); true & !(x contains "b")`, false},
		{`false & (x := "a"); !(x contains "b") & true`, true},
		{`false & (x := "a"); !(x contains "b") | false`, false},
	} {
		src := c.src
		p, err := rules.Compile(src, rules.CompileOptions{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		s := rules.NewState(rules.VarMap{"page_title": {}}, p.Scope(), rules.EvalOptions{})
		if matched, err := p.Match(s); matched || err != nil {
			t.Errorf("%s: matched %v, error %v; want no match", src, matched, err)
		}
		v, _, err := p.Eval(nil, rules.EvalOptions{})
		if err != nil || v.IsUndefined() != c.undef {
			t.Errorf("%s: value %v, error %v; want undefined: %v", src, v, err, c.undef)
		}
	}
}
