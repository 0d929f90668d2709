package rules_test

import (
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/value"
)

// TestCodeRealFilters: running the real filters' tests from instructions
// changes nothing a caller sees, per filter, against their closures, with
// and without the condition limit and with and without shared guards.
func TestCodeRealFilters(t *testing.T) {
	set := realSet(t)
	closures := rules.WithoutCode(set)
	// Most of the skeleton is instructions of its own: were every test one
	// call of its closure, this comparison would show nothing.
	calls, all := rules.CodeCalls(set)
	t.Logf("%d instructions, %d of them calls", all, calls)
	if calls*2 > all {
		t.Errorf("%d of %d instructions are calls", calls, all)
	}
	if c, a := rules.CodeCalls(closures); c != a {
		t.Errorf("without code: %d of %d instructions are calls", c, a)
	}
	eachVarsetLimit(t, 13, func(what string, vars rules.VarMap, opts rules.RunOptions) {
		want := closures.Run(vars, opts)
		sameResults(t, what, set, set.Run(vars, opts), want)
		sameResults(t, what+", no guards", set, rules.WithoutGuards(set).Run(vars, opts), want)
	})
}

// TestCode: the shapes the instructions run, on one filter each, with the
// answers worked out by hand from AbuseFilter's rules: a short-circuit
// keeps the value so far, an operand after the first counts by its truth,
// an if without else is null, a variable the action leaves out is null,
// one assigned only in a skipped branch undefined.
func TestCode(t *testing.T) {
	vars := rules.VarMap{
		"page_namespace": value.NewInt(0),
		"page_id":        value.NewInt(7),
		"user_name":      value.NewString("Ab"),
		"user_groups":    value.NewStrings([]string{"*", "user"}),
		"summary":        value.NewString("buy casino chips"),
		"new_wikitext":   value.UndefinedValue,
	}
	tests := []struct {
		src     string
		matched bool
		conds   int
	}{
		{`page_id == 7 | page_id == 8`, true, 1},
		{`page_id == 8 | page_id == 7`, true, 2},
		{`page_id == 8 & page_id == 7 | page_id == 7`, true, 2},                       // (8 & 7) | 7: the | runs
		{`page_id == 7 | page_id == 8 & page_id == 9`, false, 2},                      // (7 | 8) & 9
		{`page_id == 8 & page_id == 7 & page_id == 7 | page_namespace == 0`, true, 2}, // one false skips both &
		{`!(page_id == 7)`, false, 1},
		{`!(!(page_id == 7))`, true, 1},
		{`!(page_id == 7 & page_id == 8)`, true, 2},
		{`!("sysop" in user_groups) & !("bot" in user_groups)`, true, 2},
		{`"user" in user_groups & summary rlike "casino"`, true, 2},
		{`!(summary rlike "poker") & summary irlike "CHIPS"`, true, 2},
		{`page_namespace`, false, 0},
		{`!page_namespace & page_id`, true, 0},
		{`if page_id == 7 then summary rlike "chips" else 1/0 end`, true, 2},
		{`(if page_id == 8 then true end) | page_id == 7`, true, 2}, // null, then the |
		{`(if page_id == 8 then true else page_namespace == 0 end) & page_id > 6`, true, 3},
		{`new_wikitext rlike "x" | page_id == 7`, true, 2}, // null (left out), then the |
		{`(new_wikitext rlike "x" & page_id == 7) | page_id == 7`, true, 2},
		{`!(new_wikitext rlike "x") | false`, true, 1},
		{`lcase(user_name) == "ab" & (page_id == 1 | page_id == 7)`, true, 4},
		{`page_id == 7 & (length(summary) > 100 | summary contains "chips")`, true, 4},
		// A variable assigned only in a skipped branch is undefined: ! keeps
		// it, and an operand after the first counts as false.
		{`false & (x := "a"); !(x contains "b")`, false, 1},
		{`false & (x := "a"); !(x contains "b") | page_id == 7`, true, 2},
		{`false & (x := "a"); !(page_id == 7 & x contains "b")`, true, 2},
		{`x := page_id; x == 7 & page_namespace == 0`, true, 2},
		{`x := page_id == 8; y := x | page_id; x & y`, false, 1},                      // x is false, y the truth of page_id
		{`(y := lcase(user_name); y == "ab") & page_id == 7`, true, 3},                // lcase, ==, ==
		{`(y := 1; page_id == 8) | page_id == 7 & !(z := page_id; z == 7)`, false, 3}, // (8 | 7) & !(7)

	}
	for _, tt := range tests {
		set, errs := rules.NewSet([]rules.FilterSource{{ID: "0", Pattern: tt.src}})
		if len(errs) != 0 {
			t.Fatalf("%s: %v", tt.src, errs[0].Err)
		}
		res := set.Run(vars, rules.RunOptions{})
		if f := res.Filters[0]; f.Matched != tt.matched || f.Conds != tt.conds || f.Err != nil {
			t.Errorf("%s: matched %v, %d conditions, error %v; want %v, %d", tt.src, f.Matched, f.Conds, f.Err, tt.matched, tt.conds)
		}
		sameResults(t, tt.src, set, res, rules.WithoutCode(set).Run(vars, rules.RunOptions{}))
	}
}

// TestCodeTooLong: a chain whose short-circuit would jump further than an
// instruction can say runs through its closures, with the same result.
func TestCodeTooLong(t *testing.T) {
	// The & operands skip to the last |, over 70,000 instructions; a
	// skip to the end would return instead.
	src := "page_id==8|" + strings.Repeat("page_id>0&", 70000) + "page_id>0|page_id==7"
	set, errs := rules.NewSet([]rules.FilterSource{{ID: "0", Pattern: src}})
	if len(errs) != 0 {
		t.Fatal(errs[0].Err)
	}
	if calls, all := rules.CodeCalls(set); calls != 1 || all != 1 {
		t.Errorf("%d instructions, %d calls; want one call", all, calls)
	}
	vars := rules.VarMap{"page_id": value.NewInt(7), "page_namespace": value.NewInt(0)}
	res := set.Run(vars, rules.RunOptions{})
	if f := res.Filters[0]; !f.Matched || f.Conds != 70002 {
		t.Errorf("matched %v, %d conditions; want true, 70002", f.Matched, f.Conds)
	}
}

// FuzzSetCode: for any filters, running their tests from instructions
// changes no filter's result from their closures'. Filter a runs twice,
// with b between them, as in FuzzSetGuards.
func FuzzSetCode(f *testing.F) {
	addRealPairs(f)
	f.Add(`page_namespace == 0 & summary rlike "x" | !(page_id == 1)`, `if page_namespace then 1/0 end | page_id`, "x", uint16(3))
	f.Add(`!("*" in user_groups) | user_name irlike "A" & !summary`, `(summary rlike "(" | true) & false`, "ab", uint16(2))
	fuzzSetAgainst(f, rules.WithoutCode)
}
