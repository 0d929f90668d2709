package rules_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// FuzzEval compiles and runs any rule over variables built from any
// subject: no panic (which would surface as an "internal" error), no
// hang (the runtime budget ends every run), no unbounded growth (the
// allocation budget stops string and array doubling).
func FuzzEval(f *testing.F) {
	for _, r := range loadRealFilters(f) {
		f.Add(r.Pattern, "Hello {{cite web|url=http://casino.example}} FUCK YOU")
	}
	for _, s := range []string{
		`added_lines rlike "(a+)+$"`,
		`"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" rlike "(a+)+$"`,
		`s := "x"; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; s := s + s; length(s) > 1`,
		`a := [1]; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; a[] := a; count(a)`,
		`str_replace(new_wikitext, "", "x")`,
		`str_replace_regexp(summary, "(?:)", "$0$0$0$0")`,
		strings.Repeat("(", 900) + "1" + strings.Repeat(")", 900),
		`rcount("\b\w+\b", str_replace(added_lines, " ", "  "))`,
		`get_matches("(x)(y)?(z)*", "xzz")[3]`,
		`ip_in_ranges(user_name, "::/0", "1.2.3.4/33", "0.0.0.0/0")`,
		`1 ** 99999999999999`,
		`substr("é", -9223372036854775807, 9223372036854775807)`,
		`equals_to_any(added_lines, removed_lines, [[[[]]]])`,
		`set("x", 1); set_var("x", x + 1); x`,
	} {
		f.Add(s, strings.Repeat("a", 50))
	}
	f.Fuzz(func(t *testing.T, src, subject string) {
		p, err := rules.Compile(src, rules.CompileOptions{})
		if err != nil {
			if e, ok := err.(*syntax.Error); !ok || e.Code == syntax.ErrInternal {
				t.Fatalf("compile %q: %v", src, err)
			}
			return
		}
		str := value.NewString(subject)
		vars := rules.VarMap{
			"added_lines": value.NewArray([]value.Value{str, value.NewString("x")}), "removed_lines": value.NewArray(nil),
			"new_wikitext": str, "old_wikitext": value.NewString(""), "summary": str, "user_name": str,
			"page_namespace": value.NewInt(0), "user_editcount": value.NullValue, "user_groups": value.NewStrings([]string{"*"}),
			"action": value.NewString("edit"), "edit_delta": value.NewInt(int64(len(subject))),
		}
		start := time.Now()
		for _, check := range []bool{false, true} {
			_, _, err := p.Eval(vars, rules.EvalOptions{CondLimit: rules.DefaultCondLimit, Budget: 50 * time.Millisecond, CheckSyntax: check})
			if e, ok := err.(*syntax.Error); ok && e.Code == syntax.ErrInternal {
				t.Fatalf("eval %q: %v", src, err)
			}
		}
		// Generous: only a hang (a budget that does not hold) fails here.
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("eval %q took %v with a 50ms budget", src, d)
		}
		sameVerdict(t, p, vars)
	})
}

// sameVerdict: the verdict read from a rule's truth (its tests, as Match
// and a Set read it) is the truthiness of its value, at the same
// conditions and with the same error.
func sameVerdict(t *testing.T, p *rules.Program, vars rules.Vars) {
	t.Helper()
	opts := rules.EvalOptions{CondLimit: rules.DefaultCondLimit, Budget: 50 * time.Millisecond}
	vs := rules.NewState(vars, p.Scope(), opts)
	v, verr := p.Run(vs)
	ms := rules.NewState(vars, p.Scope(), opts)
	matched, merr := p.Match(ms)
	for _, err := range []error{verr, merr} {
		if e, ok := err.(*syntax.Error); ok && e.Code == syntax.ErrBudget {
			return // the clock, not the rule, decided
		}
	}
	valued := verr == nil && !v.IsUndefined() && v.Truthy()
	if fmt.Sprint(verr) != fmt.Sprint(merr) || vs.Conditions() != ms.Conditions() || matched != valued {
		t.Fatalf("%q: by its value %v (%v, %d conditions, error %v); by its truth %v (%d conditions, error %v)",
			p.Source(), valued, v, vs.Conditions(), verr, matched, ms.Conditions(), merr)
	}
}
