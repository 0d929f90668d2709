package rules_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/value"
)

// sameResults fails unless two runs of one action agree filter by filter:
// verdict, conditions, error and its position.
func sameResults(t *testing.T, what string, set *rules.Set, got, want *rules.Result) {
	t.Helper()
	if got.Conds != want.Conds || got.Matches != want.Matches || got.LimitReached != want.LimitReached {
		t.Errorf("%s: %d conditions, %d matches, limit %v; as written: %d, %d, %v",
			what, got.Conds, got.Matches, got.LimitReached, want.Conds, want.Matches, want.LimitReached)
	}
	for i := range got.Filters {
		g, w := got.Filters[i], want.Filters[i]
		if g.Matched != w.Matched || g.Conds != w.Conds || fmt.Sprint(g.Err) != fmt.Sprint(w.Err) ||
			g.Err != nil && (g.Err.Pos != w.Err.Pos || g.Err.Offset != w.Err.Offset) {
			t.Errorf("%s: filter %s: matched %v, %d conditions, error %v; as written: %v, %d, %v",
				what, set.ID(i), g.Matched, g.Conds, g.Err, w.Matched, w.Conds, w.Err)
		}
	}
}

// TestGuardsRealFilters: answering the real filters' shared guards once
// per action changes nothing a caller sees, per filter, with and without
// the condition limit, wherever the limit falls (before, inside and after
// the guards of any filter).
func TestGuardsRealFilters(t *testing.T) {
	set := realSet(t)
	plain := rules.WithoutGuards(set)
	distinct, uses, guarded := rules.Guards(set)
	// 398 of the 444 filters open with guards, 926 in all and 370
	// distinct; fewer means the planner stopped finding them.
	t.Logf("%d filters with guards, %d guards, %d distinct", guarded, uses, distinct)
	if guarded < 350 || distinct < 300 || uses < distinct+300 {
		t.Fatalf("%d filters with guards, %d guards, %d distinct", guarded, uses, distinct)
	}
	eachVarsetLimit(t, 11, func(what string, vars rules.VarMap, opts rules.RunOptions) {
		for range 2 { // the second time on a State the pool hands back
			sameResults(t, what, set, set.Run(vars, opts), plain.Run(vars, opts))
		}
	})
}

// eachVarsetLimit calls fn with each real variable set, in name order, and
// condition limits from none through 1, 1+step, 1+2*step... up to 1,300,
// wherever the limit falls among the filters.
func eachVarsetLimit(t *testing.T, step int, fn func(what string, vars rules.VarMap, opts rules.RunOptions)) {
	t.Helper()
	_, sets := loadVarsets(t)
	names := make([]string, 0, len(sets))
	for name := range sets {
		names = append(names, name)
	}
	sort.Strings(names)
	limits := []int{0}
	for l := 1; l <= 1300; l += step {
		limits = append(limits, l)
	}
	for _, name := range names {
		for _, limit := range limits {
			fn(fmt.Sprintf("%s, limit %d", name, limit), sets[name], rules.RunOptions{CondLimit: limit})
		}
	}
}

// TestGuards: what may be a shared guard and what may not, on small sets
// whose right answers are known.
func TestGuards(t *testing.T) {
	vars := rules.VarMap{
		"page_namespace": value.NewInt(0),
		"page_id":        value.NewInt(7),
		"user_name":      value.NewString("Ab"),
		"user_groups":    value.NewArray([]value.Value{value.NewString("*")}),
	}
	tests := []struct {
		name    string
		filters []string
		matched string // the filters that match, by index
		conds   []int  // each filter's conditions
		errs    []bool // which filters fail
	}{{
		// === tells the int 0 from the float 0.0.
		name:    "int and float",
		filters: []string{`page_namespace === 0 & true`, `page_namespace === 0.0 & true`, `page_namespace === 0 & page_id == 7`},
		matched: "02",
		conds:   []int{1, 1, 2},
		errs:    []bool{false, false, false},
	}, {
		// A call is no guard: AbuseFilter's function cache charges its
		// repetition nothing.
		name:    "call",
		filters: []string{`lcase(user_name) == "ab" & true`, `lcase(user_name) == "ab" & true`},
		matched: "01",
		conds:   []int{2, 1},
		errs:    []bool{false, false},
	}, {
		// A shared guard's later uses charge its conditions again, as
		// many as its first use did (here 2, then 1 when short-circuited
		// the same way).
		name: "conditions",
		filters: []string{
			`(page_namespace == 0 | page_id == 1) & page_id == 7`,
			`(page_namespace == 0 | page_id == 1) & page_id == 8`,
			`(page_namespace == 1 | page_id == 1) & page_id == 7`,
			`(page_namespace == 1 | page_id == 1) & page_id == 7`,
		},
		matched: "0",
		conds:   []int{2, 2, 2, 2},
		errs:    []bool{false, false, false, false},
	}, {
		// A guard that fails: each filter reports its own position.
		name: "error",
		filters: []string{
			`page_id / page_namespace > 1 & true`,
			"\n\n   page_id / page_namespace > 1 & true",
			`!("sysop" in user_groups) & page_id > 1`,
		},
		matched: "2",
		conds:   []int{0, 0, 2},
		errs:    []bool{true, true, false},
	}}
	// + may build strings, charged to the allocation budget at every
	// evaluation: it is never part of a guard (an answer reused would
	// leave the budget uncharged).
	for _, src := range []string{`(summary + summary) != "x" & page_id == 7`, `page_id + 1 == 8 & true`} {
		set, errs := rules.NewSet([]rules.FilterSource{{ID: "0", Pattern: src}})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		if _, _, guarded := rules.Guards(set); guarded != 0 {
			t.Errorf("%s: has guards", src)
		}
	}
	// Guards are found inside parenthesised chains of &, which read as one
	// chain: here page_namespace == 0 and page_id == 7 are guards, and
	// the call after them is not.
	set, errs := rules.NewSet([]rules.FilterSource{{ID: "0", Pattern: `page_namespace == 0 & (page_id == 7 & (lcase(user_name) == "ab"))`}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if _, uses, _ := rules.Guards(set); uses != 2 {
		t.Errorf("nested chain: %d guards, want 2", uses)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srcs []rules.FilterSource
			for i, f := range tt.filters {
				srcs = append(srcs, rules.FilterSource{ID: fmt.Sprint(i), Pattern: f})
			}
			set, errs := rules.NewSet(srcs)
			if len(errs) != 0 {
				t.Fatal(errs)
			}
			for range 2 {
				res := set.Run(vars, rules.RunOptions{})
				matched := ""
				for i, f := range res.Filters {
					if f.Matched {
						matched += set.ID(i)
					}
					if f.Conds != tt.conds[i] || (f.Err != nil) != tt.errs[i] {
						t.Errorf("filter %d: %d conditions, error %v; want %d, error %v", i, f.Conds, f.Err, tt.conds[i], tt.errs[i])
					}
					if f.Err != nil {
						// The position the filter alone reports.
						p, err := rules.Compile(tt.filters[i], rules.CompileOptions{})
						if err != nil {
							t.Fatal(err)
						}
						if _, alone := p.Match(rules.NewState(vars, p.Scope(), rules.EvalOptions{})); alone == nil ||
							alone.Error() != f.Err.Error() {
							t.Errorf("filter %d: error %v, alone %v", i, f.Err, alone)
						}
					}
				}
				if matched != tt.matched {
					t.Errorf("matched %q, want %q", matched, tt.matched)
				}
				sameResults(t, tt.name, set, res, rules.WithoutGuards(set).Run(vars, rules.RunOptions{}))
			}
		})
	}
}

// FuzzSetGuards: for any filters, sharing their guards changes no
// filter's result. Filter a runs twice, so that its guards are answered
// from the first run's answers, with b between them to share some too.
func FuzzSetGuards(f *testing.F) {
	addRealPairs(f)
	f.Add(`page_namespace == 0 & summary rlike "x"`, `page_namespace == 0 | 1/0`, "x", uint16(3))
	f.Add(`user_groups[5] == 1 & true`, `"*" in user_groups & length(summary) > 1`, "ab", uint16(2))
	fuzzSetAgainst(f, rules.WithoutGuards)
}

// addRealPairs seeds a fuzz target of two filters, a subject and a
// condition limit with pairs of real filters.
func addRealPairs(f *testing.F) {
	real := loadRealFilters(f)
	for i := 0; i+1 < len(real); i += 3 {
		f.Add(real[i].Pattern, real[i+1].Pattern, "Hello {{cite web|url=http://casino.example}} FUCK YOU", uint16(0))
	}
}

// fuzzSetAgainst fuzzes a set of filters a, b and a again (so that a
// finds what it left the first time) over fuzzAction(subject) with a
// condition limit: every filter's result must be what the set made by
// reference gives.
func fuzzSetAgainst(f *testing.F, reference func(*rules.Set) *rules.Set) {
	f.Fuzz(func(t *testing.T, a, b, subject string, limit uint16) {
		set, _ := rules.NewSet([]rules.FilterSource{{ID: "a", Pattern: a}, {ID: "b", Pattern: b}, {ID: "a2", Pattern: a}})
		if set.Len() == 0 {
			return
		}
		vars, opts := fuzzAction(subject), rules.RunOptions{CondLimit: int(limit)}
		sameResults(t, "fuzz", set, set.Run(vars, opts), reference(set).Run(vars, opts))
	})
}

// fuzzAction is the action the set fuzz targets run their filters on: its
// texts are subject, and its numbers follow from its length.
func fuzzAction(subject string) rules.VarMap {
	str := value.NewString(subject)
	return rules.VarMap{
		"added_lines": value.NewArray([]value.Value{str}), "new_wikitext": str, "summary": str, "user_name": str,
		"page_namespace": value.NewInt(int64(len(subject) % 3)), "user_groups": value.NewStrings([]string{"*"}),
		"action": value.NewString("edit"), "user_editcount": value.NewInt(int64(len(subject))),
	}
}

// FuzzCacheFree: for any filters, the calls that skip the function cache
// (see markCacheFree) change no filter's result or condition count from
// what the cache alone gives. Filter a runs twice, with b between them.
func FuzzCacheFree(f *testing.F) {
	real := loadRealFilters(f)
	for i := 0; i+1 < len(real); i += 3 {
		f.Add(real[i].Pattern, real[i+1].Pattern, "Hello {{cite web|url=http://casino.example}} FUCK YOU")
	}
	f.Add(`rcount("a", user_name) + rcount("a", summary) == 2`, `p := "a"; rcount(p, summary) + rcount("b", summary)`, "a")
	f.Add(`lcase(summary) == lcase(user_name)`, `x := summary; lcase(x) + lcase(new_wikitext)`, "AB")
	f.Fuzz(func(t *testing.T, a, b, subject string) {
		srcs := []rules.FilterSource{{ID: "a", Pattern: a}, {ID: "b", Pattern: b}, {ID: "a2", Pattern: a}}
		set, _ := rules.NewSet(srcs)
		if set.Len() == 0 {
			return
		}
		str := value.NewString(subject)
		vars := rules.VarMap{
			"added_lines": value.NewArray([]value.Value{str}), "new_wikitext": str, "summary": str, "user_name": value.NewString(strings.ToLower(subject)),
			"page_namespace": value.NewInt(int64(len(subject) % 3)), "user_groups": value.NewStrings([]string{"*"}),
			"action": value.NewString("edit"), "user_editcount": value.NewInt(int64(len(subject))),
		}
		sameResults(t, "fuzz", set, set.Run(vars, rules.RunOptions{}), rules.NewSetCachingAll(srcs).Run(vars, rules.RunOptions{}))
	})
}

// TestCacheFreeRealFilters: on the real filters and variable sets, the
// calls that skip the function cache change nothing per filter.
func TestCacheFreeRealFilters(t *testing.T) {
	set := realSet(t)
	var srcs []rules.FilterSource
	for i := range set.Len() {
		srcs = append(srcs, rules.FilterSource{ID: set.ID(i), Pattern: set.Program(i).Source()})
	}
	all := rules.NewSetCachingAll(srcs)
	_, sets := loadVarsets(t)
	for name, vars := range sets {
		for _, limit := range []int{0, 1000} {
			opts := rules.RunOptions{CondLimit: limit}
			sameResults(t, fmt.Sprint(name, " limit ", limit), set, set.Run(vars, opts), all.Run(vars, opts))
		}
	}
}

// TestNestedAndValues: a rule whose chain of & holds chains of & in
// parentheses is planned as one flat chain; its value stays AbuseFilter's,
// where a short-circuit returns the left operand itself and otherwise the
// value is the truth of the right operand.
func TestNestedAndValues(t *testing.T) {
	tests := []struct {
		src  string
		kind value.Kind
		str  string
	}{
		{`0 & (1 & 1)`, value.Int, "0"},
		{`"" & (1 & 1)`, value.String, ""},
		{`1 & ("" & 2)`, value.Bool, ""},
		{`1 & (2 & 3)`, value.Bool, "1"},
		{`1 & (2 & (0 & 1))`, value.Bool, ""},
		{`null & (1 & 1)`, value.Null, ""},
		{`"x" & ([] & 1) & 1`, value.Bool, ""},
	}
	for _, tt := range tests {
		p, err := rules.Compile(tt.src, rules.CompileOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		v, _, err := p.Eval(nil, rules.EvalOptions{})
		if err != nil || v.Kind() != tt.kind || v.ToString() != tt.str {
			t.Errorf("%s = %v (%v), %v; want %q (%v)", tt.src, v.ToString(), v.Kind(), err, tt.str, tt.kind)
		}
	}
}

// TestLiteralIndexRealFilters: the literal index (one scan per subject,
// shared by every site, reused by a subject equal to a scanned one up to
// ASCII case) changes nothing per filter on the real filters, over the
// variable sets and over actions whose texts come as copies and in other
// cases.
func TestLiteralIndexRealFilters(t *testing.T) {
	set := realSet(t)
	plain := rules.WithoutLiteralIndex(set)
	_, sets := loadVarsets(t)
	text := "'''Example''' is a [[town]]. FUCK YOU!! [http://casino.example CASINO] {{cite web|url=x}} été @x"
	actions := map[string]rules.VarMap{}
	for name, vars := range sets {
		actions[name] = vars
	}
	// The last differs from text in bytes that are not letters, by the
	// bit that tells cases apart.
	swap := strings.NewReplacer("[", "{", "]", "}", "{", "[", "}", "]", "|", `\`, "@", "`").Replace
	for i, variant := range []func(string) string{strings.Clone, strings.ToUpper, strings.ToLower, swap} {
		actions[fmt.Sprint("copies ", i)] = rules.VarMap{
			"new_wikitext": value.NewString(variant(text)), "old_wikitext": value.NewString(""), "summary": value.NewString(text),
			"added_lines": value.NewStrings([]string{variant(text)}), "page_title": value.NewString(variant("Example")),
			"user_name": value.NewString(variant("203.0.113.7")), "user_groups": value.NewStrings([]string{"*"}),
			"action": value.NewString("edit"), "page_namespace": value.NewInt(0), "user_editcount": value.NewInt(0),
		}
	}
	for name, vars := range actions {
		for _, limit := range []int{0, 1000} {
			opts := rules.RunOptions{CondLimit: limit}
			sameResults(t, fmt.Sprint(name, " limit ", limit), set, set.Run(vars, opts), plain.Run(vars, opts))
		}
	}
}

// FuzzSetLiterals: for any filters and texts, the literal index changes
// no filter's result. The texts are the subject and its upper and lower
// cases, so that subjects equal up to case meet.
func FuzzSetLiterals(f *testing.F) {
	addRealPairs(f)
	f.Add(`lcase(summary) rlike "casino" & user_name rlike "CASINO"`, `summary contains "x" | "ab" in lcase(user_name)`, "xAb casino", uint16(0))
	f.Add(`summary rlike "\\[\\[" & new_wikitext rlike "\\{\\{"`, `summary rlike "a\\|" | summary rlike "a\\\\"`, "[[a|", uint16(0))
	f.Fuzz(func(t *testing.T, a, b, subject string, limit uint16) {
		set, _ := rules.NewSet([]rules.FilterSource{{ID: "a", Pattern: a}, {ID: "b", Pattern: b}, {ID: "a2", Pattern: a}})
		if set.Len() == 0 {
			return
		}
		vars := fuzzAction(subject)
		vars["user_name"] = value.NewString(strings.ToUpper(subject))
		vars["new_wikitext"] = value.NewString(strings.ToLower(subject))
		opts := rules.RunOptions{CondLimit: int(limit)}
		sameResults(t, "fuzz", set, set.Run(vars, opts), rules.WithoutLiteralIndex(set).Run(vars, opts))
	})
}
